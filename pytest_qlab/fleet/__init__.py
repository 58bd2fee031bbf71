"""The fleet: playback machines reached over OpenSSH and measured at the same moment through fio's
client/server, so shared show storage sees the load of every machine at once."""
