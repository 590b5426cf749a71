#!/usr/bin/env python3
"""Writes the layout asserts for a frozen ABI header: offsetof and sizeof of every field of every
struct, the value of every enumerator, for the machine this runs on (x86_64 for the checked-in
file).

    tests/abi/gen_layout.py tests/abi/v1 > tests/abi/layout_v1.c

Run it once, when a version is released and frozen; afterwards the asserts are the record and
must never be regenerated for that version (a diff in them is an ABI break)."""
import os
import re
import subprocess
import sys
import tempfile


def preprocess(include_dir):
    src = '#include "roost/plugin.h"\n'
    return subprocess.run(["cc", "-std=c99", "-E", "-P", "-I", include_dir, "-x", "c", "-"], input=src,
                          capture_output=True, text=True, check=True).stdout


def split_top(text, sep):
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return parts


def structs(pre):
    out = []
    for m in re.finditer(r"typedef\s+struct\s+(roost_\w+)\s*\{(.*?)\}\s*(\w+)\s*;", pre, re.S):
        name, body = m.group(3), m.group(2)
        fields = []
        for decl in split_top(body, ";"):
            decl = " ".join(decl.split())
            if not decl:
                continue
            fp = re.search(r"\(\s*\*\s*(\w+)\s*\)", decl)
            if fp:
                fields.append(fp.group(1))
                continue
            pieces = split_top(decl, ",")
            first = re.findall(r"\w+", pieces[0])[-1]
            fields.append(first)
            for p in pieces[1:]:
                fields.append(re.findall(r"\w+", p)[-1])
        out.append((name, fields))
    return out


def enumerators(pre):
    names = []
    for m in re.finditer(r"enum\s*(\w*)\s*\{(.*?)\}", pre, re.S):
        for item in m.group(2).split(","):
            item = item.strip()
            if item:
                names.append(item.split("=")[0].strip())
    return [n for n in names if n.startswith("ROOST_")]


def main():
    include_dir = sys.argv[1]
    pre = preprocess(include_dir)
    ss = structs(pre)
    es = enumerators(pre)
    prog = ['#include <stdio.h>', '#include "roost/plugin.h"', "int main(void) {"]
    for name, fields in ss:
        prog.append(f'printf("/* {name} */\\n");')
        prog.append(f'printf("ROOST_ABI_SIZE({name}, %zu);\\n", sizeof({name}));')
        for f in fields:
            prog.append(f'printf("ROOST_ABI_FIELD({name}, {f}, %zu, %zu);\\n", offsetof({name}, {f}), '
                        f'sizeof((({name} *)0)->{f}));')
    prog.append('printf("/* enumerators and macros */\\n");')
    for e in es:
        prog.append(f'printf("ROOST_ABI_VALUE({e}, %lld);\\n", (long long){e});')
    prog.append('printf("ROOST_ABI_VALUE(ROOST_ABI_V1, %lld);\\n", (long long)ROOST_ABI_V1);')
    for t in ["roost_verdict", "roost_auth_stage", "roost_acl_action", "roost_delivery_state",
              "roost_hook_kind", "roost_client_field", "roost_client_ref", "roost_timer"]:
        prog.append(f'printf("ROOST_ABI_SIZE({t}, %zu);\\n", sizeof({t}));')
    prog.append("return 0; }")
    with tempfile.TemporaryDirectory() as d:
        c = os.path.join(d, "gen.c")
        exe = os.path.join(d, "gen")
        with open(c, "w") as fh:
            fh.write("\n".join(prog) + "\n")
        subprocess.run(["cc", "-std=c99", "-I", include_dir, c, "-o", exe], check=True)
        body = subprocess.run([exe], capture_output=True, text=True, check=True).stdout
    print(HEADER + body + FOOTER, end="")


HEADER = """/* layout_v1.c: the layout of ABI v1 (tests/abi/v1/roost/plugin.h), locked on x86_64.
 *
 * Written once by gen_layout.py when v1 was frozen; from then on the record, not generated.
 * Every field of every struct: its offset and size; every struct's size; every enumerator's
 * value. Compiled against the frozen header (abi_layout_v1) and against today's
 * sdk/include/roost/plugin.h (abi_layout_current_*): a plugin built against v1 must keep working,
 * so a field may only be appended, never moved, resized or removed, and no value may change.
 * Include path picks the header: -I tests/abi/v1 (with -DROOST_ABI_FROZEN) or -I sdk/include.
 * C11 (for _Static_assert with its message; the header itself is C99) or C++. */
#include <stddef.h>

#include "roost/plugin.h"

#ifdef __cplusplus
#define ROOST_ABI_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define ROOST_ABI_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

#if !defined(__x86_64__)
#error "layout_v1.c records the x86_64 layout"
#endif

#define ROOST_ABI_FIELD(T, f, off, size)                                                        \\
    ROOST_ABI_ASSERT(offsetof(T, f) == (off), "ABI v1: " #T "." #f " moved (offset " #off ")"); \\
    ROOST_ABI_ASSERT(sizeof(((T *)0)->f) == (size), "ABI v1: " #T "." #f " changed size (" #size ")")
/* Against the frozen header (ROOST_ABI_FROZEN) a struct's size is exact; a later header may have
 * appended fields, so there it may only have grown. */
#ifdef ROOST_ABI_FROZEN
#define ROOST_ABI_SIZE(T, size) ROOST_ABI_ASSERT(sizeof(T) == (size), "ABI v1: sizeof(" #T ") is " #size)
#else
#define ROOST_ABI_SIZE(T, size) ROOST_ABI_ASSERT(sizeof(T) >= (size), "ABI v1: sizeof(" #T ") shrank below " #size)
#endif
#define ROOST_ABI_VALUE(name, value) ROOST_ABI_ASSERT((name) == (value), "ABI v1: " #name " is " #value)

"""

FOOTER = """
/* The ROOST_HAS idiom a plugin uses to probe a newer field must keep meaning "struct_size
 * covers the whole field". */
#include <string.h>

int roost_abi_layout_v1_checked(void);
int roost_abi_layout_v1_checked(void) {
    roost_host full, older;
    memset(&full, 0, sizeof full);
    full.struct_size = (uint32_t)sizeof(roost_host);
    older = full;
    /* A struct_size that stops before a field says the field is absent. */
    older.struct_size = (uint32_t)offsetof(roost_host, complete_many);
    if (!ROOST_HAS(&full, roost_host, complete_many)) return 1;
    if (ROOST_HAS(&older, roost_host, complete_many)) return 2;
    if (!ROOST_HAS(&older, roost_host, client_ref_disconnect)) return 3;
    return 0;
}
"""

if __name__ == "__main__":
    main()
