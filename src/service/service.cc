// The service library's anchor: each operation group lives in its own file beside this one.
