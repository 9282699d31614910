// main() for the header self-containedness check: every public header is compiled in its own
// translation unit (generated from header_check.cpp.in) and all of them are linked into this
// program, so a non-inline definition in a header fails to link.
int main() { return 0; }
