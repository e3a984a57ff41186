"""What the table generators in tools/gen/ share: the usage check, the
C array layout and the atomic write of the generated file."""
import os
import sys


def output_path(argv, prog):
    """The one argument, OUTPUT.c, or exit with the usage line."""
    if len(argv) != 2:
        sys.exit("usage: %s OUTPUT.c" % prog)
    return argv[1]


def c_array(declaration, items, count_name):
    """Lines defining `declaration = { items };` and `count_name` as its length."""
    lines = [declaration + " = {"]
    lines += ["    " + item for item in items]
    lines += [
        "};",
        "const size_t %s = %d;" % (count_name, len(items)),
        "",
    ]
    return lines


def write_atomic(out_path, lines):
    """Writes lines to out_path through a temporary file, so that an
    interrupted build never leaves half a table behind."""
    tmp = out_path + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write("\n".join(lines))
    os.replace(tmp, out_path)
