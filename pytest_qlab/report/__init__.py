"""Reports: the JSON `qlab` block, the HTML banner and the terminal verdict."""
