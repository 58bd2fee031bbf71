"""The show's own media: frame maps read from a file's sample tables, and the timed fio traces
that replay them read-only (framemap -> rates -> schedule -> iolog -> playback)."""
