// General mode: see link_files.h.
