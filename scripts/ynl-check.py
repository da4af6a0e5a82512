#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check the chainmesh netlink spec against the C code that implements it.

The YNL spec (Documentation/netlink/specs/chainmesh.yaml, protocol
genetlink-c) is the source of truth of the generic netlink family. The
uAPI header is written by hand, and so are the host module's policies.
This script reads all three and fails, naming each difference, when:

  header  the family name and version defines, every const, every enum and
          its entries' names and values, every attribute set's enum (names,
          values, the count name and the max define), the command enum and
          the multicast group defines differ from what the spec's naming
          rules give; or the header has a netlink enum or define that the
          spec does not describe.
  policy  (host/netlink.c) an nla_policy entry's type or range (min, max,
          min-len, max-len, exact-len) differs from the attribute's type and
          checks in the spec; a spec check is enforced by no policy; a
          nested policy is not the spec's nested set; a genl_ops entry's
          doit/dumpit, admin permission, policy attributes or maxattr
          differ from the spec's operation; the family struct or its
          multicast groups use other defines than the spec's.

The naming rules are those of the genetlink-c protocol level: upper case,
dashes to underscores; $family-$const; enum entries $family-$enum-$entry
unless name-prefix; attributes $family-A-$set-$attr ($family-A-$attr for
the set named as the family) unless name-prefix, values from 1 unless
value, count __$prefix-MAX unless attr-cnt-name, max $prefix-MAX unless
attr-max-name; commands $family-CMD-$op, values from 1, count
__$family-CMD-MAX, max $family-CMD-MAX; groups $family-MCGRP-$group.

Usage: ynl-check.py [--spec FILE] [--uapi DIR] [--policy FILE | --no-policy]
                    [-I DIR]... [-v]
Paths default to this repository's. Exit status 0 when everything agrees,
1 on a mismatch (each printed on stderr), 2 on a usage or parse error.
"""

import argparse
import ast
import glob
import os
import re
import sys

try:
    import yaml
except ImportError:
    sys.exit("ynl-check: needs PyYAML (Debian: apt-get install python3-yaml)")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class ParseError(Exception):
    pass


class EvalError(Exception):
    pass


def c_upper(name):
    return name.upper().replace('-', '_')


# ---------------------------------------------------------------- C reading

def strip_comments(text):
    """Remove C comments, keeping string and character literals and the
    line structure (a comment's newlines stay)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith('/*', i):
            j = text.find('*/', i + 2)
            if j < 0:
                raise ParseError('unterminated comment')
            out.append('\n' * text.count('\n', i, j) or ' ')
            i = j + 2
        elif text.startswith('//', i):
            j = text.find('\n', i)
            i = n if j < 0 else j
        elif c in '"\'':
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == '\\' else 1
            out.append(text[i:j + 1])
            i = j + 1
        else:
            out.append(c)
            i += 1
    return ''.join(out)


def split_top(text, sep=','):
    """Split at @sep outside (), [] and {} and outside string literals."""
    parts, depth, cur, quote = [], 0, [], None
    for c in text:
        if quote:
            cur.append(c)
            if c == quote:
                quote = None
            continue
        if c in '"\'':
            quote = c
        elif c in '([{':
            depth += 1
        elif c in ')]}':
            depth -= 1
        elif c == sep and depth == 0:
            parts.append(''.join(cur).strip())
            cur = []
            continue
        cur.append(c)
    last = ''.join(cur).strip()
    if last:
        parts.append(last)
    return parts


def match_brace(text, start):
    """Index just past the brace that closes the one at text[start]."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == '{':
            depth += 1
        elif text[i] == '}':
            depth -= 1
            if depth == 0:
                return i + 1
    raise ParseError('unbalanced braces')


DEFINE_RE = re.compile(r'^[ \t]*#[ \t]*define[ \t]+(\w+)(\(?)(.*)$', re.M)
ENUM_RE = re.compile(r'\benum\s+(\w+\s*)?\{')


class CFile:
    """The object-like macros and the enums of one C file."""

    def __init__(self, path, label=None):
        self.path = path
        self.label = label or path
        with open(path) as f:
            raw = f.read()
        self.text = strip_comments(raw.replace('\\\n', ' '))
        self.defines = {}
        for m in DEFINE_RE.finditer(self.text):
            if m.group(2):          # function-like
                continue
            self.defines.setdefault(m.group(1), m.group(3).strip())
        self.enums = []             # (tag or None, [(name, expr or None)])
        for m in ENUM_RE.finditer(self.text):
            end = match_brace(self.text, m.end() - 1)
            body = self.text[m.end():end - 1]
            entries = []
            for item in split_top(body):
                name, _, expr = item.partition('=')
                entries.append((name.strip(), expr.strip() or None))
            tag = m.group(1).strip() if m.group(1) else None
            self.enums.append((tag, entries))


INT_RE = re.compile(r'\b(0[xX][0-9a-fA-F]+|\d+)[uUlL]*\b')
ALLOWED_BINOPS = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b, ast.FloorDiv: lambda a, b: a // b,
    ast.Mod: lambda a, b: a % b, ast.LShift: lambda a, b: a << b,
    ast.RShift: lambda a, b: a >> b, ast.BitOr: lambda a, b: a | b,
    ast.BitAnd: lambda a, b: a & b, ast.BitXor: lambda a, b: a ^ b,
}
ALLOWED_UNOPS = {
    ast.USub: lambda a: -a, ast.UAdd: lambda a: a, ast.Invert: lambda a: ~a,
}


class Scope:
    """Names to values: enumerators (already values) and macros (text,
    evaluated when asked). Evaluates integer constant expressions and
    string literals; anything else (casts, calls) is an EvalError."""

    def __init__(self):
        self.values = {}
        self.macros = {}
        self._busy = set()

    def add_file(self, cfile):
        for name, text in cfile.defines.items():
            self.macros.setdefault(name, text)
        for _, entries in cfile.enums:
            try:
                self.enum_values(entries)
            except EvalError:
                pass    # not ours to judge here; check_enum() reports it

    def enum_values(self, entries):
        """The values of an enum's entries, recorded as names too."""
        out, nxt = [], 0
        for name, expr in entries:
            val = self.eval(expr) if expr is not None else nxt
            self.values.setdefault(name, val)
            out.append((name, val))
            nxt = val + 1
        return out

    def lookup(self, name):
        if name in self.values:
            return self.values[name]
        if name in self.macros:
            if name in self._busy:
                raise EvalError('%s refers to itself' % name)
            self._busy.add(name)
            try:
                return self.eval(self.macros[name])
            finally:
                self._busy.discard(name)
        raise EvalError('unknown name %s' % name)

    def eval(self, text):
        text = text.strip()
        m = re.fullmatch(r'"((?:[^"\\]|\\.)*)"', text)
        if m:
            return m.group(1)
        if not text:
            raise EvalError('empty expression')
        py = INT_RE.sub(lambda m: str(int(m.group(1), 0)), text)
        py = py.replace('/', '//')
        try:
            tree = ast.parse(py, mode='eval')
        except SyntaxError:
            raise EvalError('cannot evaluate "%s"' % text)
        return self._eval(tree.body, text)

    def _eval(self, node, text):
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.Name):
            return self.lookup(node.id)
        if isinstance(node, ast.BinOp) and type(node.op) in ALLOWED_BINOPS:
            return ALLOWED_BINOPS[type(node.op)](self._eval(node.left, text),
                                                 self._eval(node.right, text))
        if isinstance(node, ast.UnaryOp) and type(node.op) in ALLOWED_UNOPS:
            return ALLOWED_UNOPS[type(node.op)](self._eval(node.operand, text))
        raise EvalError('cannot evaluate "%s"' % text)


# ----------------------------------------------------------- the spec model

INT_TYPES = {'u8': 8, 'u16': 16, 'u32': 32, 'u64': 64,
             's8': 8, 's16': 16, 's32': 32, 's64': 64}
LEN_CHECKS = ('min-len', 'max-len', 'exact-len')
RANGE_CHECKS = ('min', 'max') + LEN_CHECKS


class Report:
    def __init__(self, verbose=False):
        self.errors = []
        self.verbose = verbose
        self.compared = 0

    def error(self, where, msg):
        self.errors.append('%s: %s' % (where, msg))

    def note(self, msg):
        if self.verbose:
            print('ynl-check: ' + msg)


class AttrSet:
    def __init__(self, family, yset, max_by_define):
        self.name = yset['name']
        if self.name == family:
            default = '%s-a-' % family
        else:
            default = '%s-a-%s-' % (family, self.name)
        self.prefix = yset.get('name-prefix', default)
        self.enum_name = yset.get('enum-name')
        self.cnt_name = c_upper(yset.get('attr-cnt-name',
                                         '__' + self.prefix + 'max'))
        self.max_name = c_upper(yset.get('attr-max-name',
                                         self.prefix + 'max'))
        self.max_by_define = max_by_define
        self.attrs = []         # (yaml attr, C name, value)
        self.by_cname = {}
        self.by_name = {}
        val = 1
        for attr in yset.get('attributes', []):
            if 'value' in attr:
                val = attr['value']
            cname = c_upper(self.prefix + attr['name'])
            self.attrs.append((attr, cname, val))
            self.by_cname[cname] = attr
            self.by_name[attr['name']] = attr
            val += 1
        self.cnt_value = val


class Spec:
    def __init__(self, path):
        self.path = path
        with open(path) as f:
            self.y = yaml.safe_load(f)
        y = self.y
        if y.get('protocol') != 'genetlink-c':
            raise ParseError('protocol is %r, not genetlink-c'
                             % y.get('protocol'))
        self.family = y['name']
        self.uapi_header = y.get('uapi-header', 'linux/%s.h' % self.family)
        self.max_by_define = bool(y.get('max-by-define', False))
        self.consts = {}
        self.enums = {}
        for d in y.get('definitions', []):
            if d['type'] == 'const':
                self.consts[d['name']] = d
            elif d['type'] in ('enum', 'flags'):
                self.enums[d['name']] = d
            else:
                raise ParseError('definition %s: type %s not handled'
                                 % (d['name'], d['type']))
        self.sets = {}
        for yset in y.get('attribute-sets', []):
            if 'subset-of' in yset:
                continue
            self.sets[yset['name']] = AttrSet(self.family, yset,
                                              self.max_by_define)
        ops = y.get('operations', {})
        if ops.get('enum-model', 'unified') != 'unified':
            raise ParseError('operations: only the unified enum model is '
                             'handled')
        self.op_prefix = ops.get('name-prefix', '%s-cmd-' % self.family)
        self.op_enum_name = ops.get('enum-name')
        self.ops = []           # (yaml op, C name, value)
        val = 1
        for op in ops.get('list', []):
            if 'value' in op:
                val = op['value']
            self.ops.append((op, c_upper(self.op_prefix + op['name']), val))
            val += 1
        self.op_cnt_value = val
        self.op_cnt_name = c_upper(y.get('cmd-cnt-name',
                                         '__' + self.op_prefix + 'max'))
        self.op_max_name = c_upper(y.get('cmd-max-name',
                                         self.op_prefix + 'max'))

    def header_of(self, d):
        return d.get('header', self.uapi_header)

    def limit(self, where, value, bits=None):
        """A check's value: an integer, a const's name (optionally
        "NAME - 1") or a type limit such as u32-max."""
        if isinstance(value, bool) or value is None:
            raise ParseError('%s: %r is not a limit' % (where, value))
        if isinstance(value, int):
            return value
        m = re.fullmatch(r'([us])(8|16|32|64)-(min|max)', value)
        if m:
            b = int(m.group(2))
            if m.group(1) == 'u':
                return 0 if m.group(3) == 'min' else (1 << b) - 1
            return -(1 << (b - 1)) if m.group(3) == 'min' \
                else (1 << (b - 1)) - 1
        m = re.fullmatch(r'([0-9a-z-]+)( - 1)?', value)
        if m and m.group(1) in self.consts:
            v = self.consts[m.group(1)]['value']
            return v - 1 if m.group(2) else v
        raise ParseError('%s: limit %r is no integer, const or type limit'
                         % (where, value))

    def checks(self, set_name, attr):
        """The attribute's range checks, normalised: a minimum of 0 on an
        unsigned type and a maximum equal to the type's are no check."""
        where = 'attribute-set %s: %s' % (set_name, attr['name'])
        out = {}
        for key, value in (attr.get('checks') or {}).items():
            if key in RANGE_CHECKS:
                out[key] = self.limit(where + ' checks.' + key, value)
        t = attr['type']
        if t in INT_TYPES:
            if t[0] == 'u' and out.get('min') == 0:
                del out['min']
            if t[0] == 'u' and out.get('max') == (1 << INT_TYPES[t]) - 1:
                del out['max']
        return out


# ----------------------------------------------------- spec against header

class Headers:
    def __init__(self, uapi_dir):
        self.uapi_dir = uapi_dir
        self.files = {}
        self.scope = Scope()

    def get(self, rel):
        if rel not in self.files:
            path = os.path.join(self.uapi_dir, rel)
            if not os.path.exists(path):
                return None
            cf = CFile(path, label=rel)
            self.files[rel] = cf
            self.scope.add_file(cf)
        return self.files[rel]


def check_define(rep, hdrs, rel, cname, want, what):
    cf = hdrs.get(rel)
    rep.compared += 1
    if cf is None:
        rep.error(rel, 'header not found (%s)' % what)
        return
    if cname not in cf.defines:
        rep.error(rel, '%s: no #define %s' % (what, cname))
        return
    try:
        got = hdrs.scope.eval(cf.defines[cname])
    except EvalError as e:
        rep.error(rel, '%s: %s: %s' % (what, cname, e))
        return
    if got != want:
        rep.error(rel, '%s: %s is %r in the header, %r in the spec'
                  % (what, cname, got, want))


def find_enum(cf, tag, member):
    """The enum called @tag, or (no tag) the one holding @member."""
    for etag, entries in cf.enums:
        if tag is not None and etag == tag:
            return etag, entries
        if tag is None and any(n == member for n, _ in entries):
            return etag, entries
    return None


def check_enum(rep, hdrs, rel, tag, want, what, claimed):
    """@want: [(C name, value)] in order, the whole enum."""
    cf = hdrs.get(rel)
    if cf is None:
        rep.error(rel, 'header not found (%s)' % what)
        return
    found = find_enum(cf, tag, want[0][0] if want else None)
    label = 'enum %s' % tag if tag else 'the enum of %s' % what
    if found is None:
        rep.error(rel, '%s: no %s' % (what, label))
        return
    etag, entries = found
    if tag is None and etag is not None:
        rep.error(rel, '%s: the spec names no enum, the header calls it '
                  'enum %s' % (what, etag))
    claimed.add(id(entries))
    try:
        got = hdrs.scope.enum_values(entries)
    except EvalError as e:
        rep.error(rel, '%s: %s' % (label, e))
        return
    got_d, want_d = dict(got), dict(want)
    for name, val in want:
        rep.compared += 1
        if name not in got_d:
            rep.error(rel, '%s: %s (%d) is missing from %s'
                      % (what, name, val, label))
        elif got_d[name] != val:
            rep.error(rel, '%s: %s is %d in the header, %d in the spec'
                      % (what, name, got_d[name], val))
    for name, val in got:
        if name not in want_d:
            rep.error(rel, '%s: %s has %s (%d), which the spec does not have'
                      % (what, label, name, val))
    if [n for n, _ in got] != [n for n, _ in want] and \
            set(got_d) == set(want_d):
        rep.error(rel, '%s: %s lists its entries in another order than '
                  'the spec' % (what, label))


def check_max(rep, hdrs, rel, max_by_define, cnt_name, cnt_value, max_name,
              what, want_entries):
    """The max of an enum whose count entry is @cnt_name: a #define or
    (not max_by_define) the enum's last entry."""
    if max_by_define:
        check_define(rep, hdrs, rel, max_name, cnt_value - 1, what + ' max')
    else:
        want_entries.append((max_name, cnt_value - 1))


def check_header(spec, hdrs, rep):
    fam = spec.family
    rel = spec.uapi_header
    y = spec.y
    claimed = set()
    if hdrs.get(rel) is None:
        rep.error(rel, 'the spec\'s uapi-header is not in %s' % hdrs.uapi_dir)
        return
    check_define(rep, hdrs, rel,
                 c_upper(y.get('c-family-name', fam + '-family-name')),
                 fam, 'family name')
    check_define(rep, hdrs, rel,
                 c_upper(y.get('c-version-name', fam + '-family-version')),
                 y.get('version', 1), 'family version')

    for name, d in spec.consts.items():
        check_define(rep, hdrs, spec.header_of(d),
                     c_upper(d.get('name-prefix', fam + '-') + name),
                     d['value'], 'const ' + name)

    for name, d in spec.enums.items():
        what = '%s %s' % (d['type'], name)
        tag = d.get('enum-name', '%s-%s' % (fam, name))
        tag = c_upper(tag).lower() if tag else None
        pfx = d.get('name-prefix', '%s-%s-' % (fam, name))
        want, val = [], d.get('value-start', 0)
        for i, e in enumerate(d.get('entries', [])):
            ename = e if isinstance(e, str) else e['name']
            if isinstance(e, dict) and 'value' in e:
                val = e['value']
            v = (1 << val) if d['type'] == 'flags' else val
            want.append((c_upper(pfx + ename), v))
            val += 1
        if d.get('render-max'):
            if d['type'] == 'flags':
                raise ParseError('%s: render-max of flags not handled' % what)
            cnt = c_upper('__' + pfx + 'max')
            want.append((cnt, val))
            check_max(rep, hdrs, spec.header_of(d), spec.max_by_define, cnt,
                      val, c_upper(pfx + 'max'), what, want)
        check_enum(rep, hdrs, spec.header_of(d), tag, want, what, claimed)

    for s in spec.sets.values():
        what = 'attribute-set ' + s.name
        want = [(cname, val) for _, cname, val in s.attrs]
        want.append((s.cnt_name, s.cnt_value))
        check_max(rep, hdrs, rel, s.max_by_define, s.cnt_name, s.cnt_value,
                  s.max_name, what, want)
        tag = c_upper(s.enum_name).lower() if s.enum_name else None
        check_enum(rep, hdrs, rel, tag, want, what, claimed)

    want = [(cname, val) for _, cname, val in spec.ops]
    want.append((spec.op_cnt_name, spec.op_cnt_value))
    check_max(rep, hdrs, rel, spec.max_by_define, spec.op_cnt_name,
              spec.op_cnt_value, spec.op_max_name, 'operations', want)
    tag = c_upper(spec.op_enum_name).lower() if spec.op_enum_name else None
    check_enum(rep, hdrs, rel, tag, want, 'operations', claimed)

    groups = set()
    for g in y.get('mcast-groups', {}).get('list', []):
        cname = c_upper(g.get('c-define-name',
                              '%s-mcgrp-%s' % (fam, g['name'])))
        groups.add(cname)
        check_define(rep, hdrs, rel, cname, g['name'],
                     'mcast-group ' + g['name'])

    # What the header has of netlink that the spec does not describe.
    cf = hdrs.get(rel)
    for tag, entries in cf.enums:
        if id(entries) not in claimed:
            rep.error(rel, 'enum %s (%s...) is not in the spec'
                      % (tag or '(unnamed)', entries[0][0] if entries
                         else ''))
    maxes = {s.max_name for s in spec.sets.values()} | {spec.op_max_name}
    mcgrp_pfx = c_upper(fam + '-mcgrp-')
    for name in cf.defines:
        if name.startswith(mcgrp_pfx) and name not in groups:
            rep.error(rel, '#define %s: no such mcast-group in the spec'
                      % name)
        if spec.max_by_define and name.endswith('_MAX') and \
                not name.startswith('_') and name not in maxes:
            rep.error(rel, '#define %s: a max of nothing in the spec' % name)


# ----------------------------------------------------- spec against policy

NLA_TYPES = {
    'NLA_U8': 'u8', 'NLA_U16': 'u16', 'NLA_U32': 'u32', 'NLA_U64': 'u64',
    'NLA_S8': 's8', 'NLA_S16': 's16', 'NLA_S32': 's32', 'NLA_S64': 's64',
    'NLA_BE16': 'u16', 'NLA_BE32': 'u32', 'NLA_FLAG': 'flag',
    'NLA_STRING': 'string', 'NLA_NUL_STRING': 'string',
    'NLA_BINARY': 'binary', 'NLA_NESTED': 'nest',
    'NLA_NESTED_ARRAY': 'nest',
}


class PolicyEntry:
    def __init__(self, policy, attr):
        self.policy = policy    # name of the nla_policy array
        self.attr = attr        # C name of the attribute
        self.nla = None
        self.checks = {}
        self.nested = None      # name of the nested policy array
        self.validate_fn = None


class Policies:
    """The nla_policy arrays, range validations, genl_ops and the
    genl_family of one C file (host/netlink.c)."""

    CALL_RE = re.compile(r'(NLA_POLICY_\w+)\s*\((.*)\)\s*$', re.S)

    def __init__(self, path, scope):
        self.path = path
        self.cf = CFile(path)
        self.scope = scope
        scope.add_file(self.cf)
        self.text = self.expand(self.cf.text)
        self.ranges = {}
        for m in re.finditer(r'struct\s+netlink_range_validation(?:_signed)?'
                             r'\s+(\w+)\s*=\s*\{', self.text):
            body = self.text[m.end():match_brace(self.text, m.end() - 1) - 1]
            self.ranges[m.group(1)] = self.designated(body)
        self.arrays = {}        # name -> (max expr, [PolicyEntry])
        for m in re.finditer(r'struct\s+nla_policy\s+(\w+)\s*\[([^\]]*)\]'
                             r'\s*=\s*\{', self.text):
            body = self.text[m.end():match_brace(self.text, m.end() - 1) - 1]
            entries = []
            for item in split_top(body):
                em = re.fullmatch(r'\[\s*(\w+)\s*\]\s*=\s*(.*)', item, re.S)
                if not em:
                    raise ParseError('%s: policy %s: cannot read "%s"'
                                     % (path, m.group(1), item))
                entries.append(self.entry(m.group(1), em.group(1),
                                          em.group(2).strip()))
            self.arrays[m.group(1)] = (m.group(2), entries)
        self.ops = []
        for m in re.finditer(r'struct\s+genl_(?:small_)?ops\s+\w+\s*\[\s*\]'
                             r'\s*(?:__\w+\s*)?=\s*\{', self.text):
            body = self.text[m.end():match_brace(self.text, m.end() - 1) - 1]
            for item in split_top(body):
                item = item.strip()
                if not (item.startswith('{') and item.endswith('}')):
                    raise ParseError('%s: genl_ops: cannot read "%s"'
                                     % (path, item))
                self.ops.append(self.designated(item[1:-1], raw=True))
        self.family = None
        self.mcgrps = []
        m = re.search(r'struct\s+genl_family\s+\w+\s*(?:__\w+\s*)?=\s*\{',
                      self.text)
        if m:
            body = self.text[m.end():match_brace(self.text, m.end() - 1) - 1]
            self.family = self.designated(body, raw=True)
        m = re.search(r'struct\s+genl_multicast_group\s+\w+\s*\[\s*\]\s*=\s*\{',
                      self.text)
        if m:
            body = self.text[m.end():match_brace(self.text, m.end() - 1) - 1]
            for item in split_top(body):
                g = re.fullmatch(r'(?:\[\s*\w+\s*\]\s*=\s*)?\{(.*)\}', item,
                                 re.S)
                if not g:
                    raise ParseError('%s: multicast groups: cannot read "%s"'
                                     % (path, item))
                self.mcgrps.append(self.designated(g.group(1),
                                                   raw=True).get('name'))

    def expand(self, text):
        """Expand the file's own object-like macros (CM_NAME_POLICY)."""
        local = {k: v for k, v in self.cf.defines.items()
                 if '{' in v or 'NLA_' in v}
        for _ in range(8):
            new = re.sub(r'\b(\w+)\b',
                         lambda m: local.get(m.group(1), m.group(1)), text)
            if new == text:
                break
            text = new
        return text

    def designated(self, body, raw=False):
        out = {}
        for item in split_top(body):
            m = re.fullmatch(r'\.(\w+)\s*=\s*(.*)', item, re.S)
            if not m:
                raise ParseError('%s: cannot read initializer "%s"'
                                 % (self.path, item))
            out[m.group(1)] = m.group(2).strip() if raw else \
                self.scope.eval(m.group(2))
        return out

    def entry(self, policy, attr, value):
        e = PolicyEntry(policy, attr)
        where = '%s: %s[%s]' % (self.path, policy, attr)
        if value.startswith('{'):
            d = self.designated(value.strip()[1:-1], raw=True)
            e.nla = d.get('type')
            for key, ck in (('len', 'max-len'), ('min', 'min'),
                            ('max', 'max')):
                if key in d:
                    e.checks[ck] = self.scope.eval(d[key])
            if 'validation_data' in d or 'validate' in d:
                e.validate_fn = d.get('validate', '?')
        else:
            m = self.CALL_RE.fullmatch(value)
            if not m:
                raise ParseError('%s: cannot read "%s"' % (where, value))
            macro, args = m.group(1), split_top(m.group(2))
            ev = self.scope.eval
            if macro in ('NLA_POLICY_MAX', 'NLA_POLICY_MIN'):
                e.nla = args[0]
                e.checks[macro[11:].lower()] = ev(args[1])
            elif macro == 'NLA_POLICY_RANGE':
                e.nla = args[0]
                lo, hi = ('min-len', 'max-len') if args[0] == 'NLA_BINARY' \
                    else ('min', 'max')
                e.checks[lo] = ev(args[1])
                e.checks[hi] = ev(args[2])
            elif macro == 'NLA_POLICY_FULL_RANGE':
                e.nla = args[0]
                var = args[1].lstrip('&').strip()
                if var not in self.ranges:
                    raise ParseError('%s: no range %s' % (where, var))
                e.checks.update(self.ranges[var])
            elif macro == 'NLA_POLICY_VALIDATE_FN':
                e.nla = args[0]
                e.validate_fn = args[1]
                if len(args) > 2:
                    e.checks['max-len'] = ev(args[2])
            elif macro == 'NLA_POLICY_EXACT_LEN':
                e.nla = 'NLA_BINARY'
                e.checks['exact-len'] = ev(args[0])
            elif macro == 'NLA_POLICY_MIN_LEN':
                e.nla = 'NLA_BINARY'
                e.checks['min-len'] = ev(args[0])
            elif macro in ('NLA_POLICY_NESTED', 'NLA_POLICY_NESTED_ARRAY'):
                e.nla = 'NLA_NESTED'
                e.nested = args[0]
            else:
                raise ParseError('%s: %s not handled' % (where, macro))
        if e.nla not in NLA_TYPES:
            raise ParseError('%s: type %s not handled' % (where, e.nla))
        t = NLA_TYPES[e.nla]
        if t in INT_TYPES and t[0] == 'u':
            if e.checks.get('min') == 0:
                del e.checks['min']
            if e.checks.get('max') == (1 << INT_TYPES[t]) - 1:
                del e.checks['max']
        return e


def set_of_array(spec, entries):
    sets = set()
    for e in entries:
        for s in spec.sets.values():
            if e.attr in s.by_cname:
                sets.add(s.name)
    return sets


def check_policy(spec, pol, rep):
    where = pol.path
    array_set = {}
    enforced = set()            # (set, attr name)
    for name, (maxexpr, entries) in pol.arrays.items():
        sets = set_of_array(spec, entries)
        if len(sets) != 1:
            rep.error(where, 'policy %s: its attributes belong to %s of the '
                      'spec\'s attribute sets' % (name, sorted(sets) or
                                                  'none'))
            continue
        s = spec.sets[sets.pop()]
        array_set[name] = s
        if maxexpr.replace(' ', '') != s.max_name + '+1':
            rep.error(where, 'policy %s: sized [%s], not [%s + 1] of '
                      'attribute-set %s' % (name, maxexpr, s.max_name,
                                            s.name))
        for e in entries:
            attr = s.by_cname.get(e.attr)
            if attr is None:
                rep.error(where, 'policy %s: %s is not an attribute of '
                          'attribute-set %s' % (name, e.attr, s.name))
                continue
            enforced.add((s.name, attr['name']))
            label = 'policy %s: %s' % (name, e.attr)
            t = NLA_TYPES[e.nla]
            rep.compared += 1
            if attr['type'] != t:
                rep.error(where, '%s: %s in the policy, %s in the spec'
                          % (label, e.nla, attr['type']))
            if attr['type'] == 'string':
                unterm = bool((attr.get('checks') or {}).get('unterminated-ok'))
                if unterm != (e.nla == 'NLA_STRING'):
                    rep.error(where, '%s: %s, but unterminated-ok is %s in '
                              'the spec' % (label, e.nla, unterm))
            want = spec.checks(s.name, attr)
            for key in sorted(set(want) | set(e.checks)):
                rep.compared += 1
                got, exp = e.checks.get(key), want.get(key)
                if got == exp:
                    continue
                if got is None and e.validate_fn and key in LEN_CHECKS:
                    rep.note('%s: %s %s left to %s' % (label, key, exp,
                                                      e.validate_fn))
                    continue
                rep.error(where, '%s: %s is %s in the policy, %s in the spec'
                          % (label, key,
                             'none' if got is None else got,
                             'none' if exp is None else exp))
            if e.nested is not None:
                nested = attr.get('nested-attributes')
                if e.nested not in pol.arrays:
                    rep.error(where, '%s: nested policy %s not found'
                              % (label, e.nested))
                else:
                    nsets = set_of_array(spec, pol.arrays[e.nested][1])
                    if nsets != {nested}:
                        rep.error(where, '%s: nests %s, attributes of %s; '
                                  'the spec nests attribute-set %s'
                                  % (label, e.nested, sorted(nsets), nested))

    # A range in the spec that no policy enforces.
    for s in spec.sets.values():
        for attr, cname, _ in s.attrs:
            if spec.checks(s.name, attr) and (s.name, attr['name']) \
                    not in enforced:
                rep.error(where, 'attribute-set %s: %s has checks in the '
                          'spec, but no policy enforces them (%s)'
                          % (s.name, attr['name'], cname))

    # Operations.
    by_cmd = {cname: op for op, cname, _ in spec.ops}
    seen = set()
    for o in pol.ops:
        cmd = o.get('cmd')
        op = by_cmd.get(cmd)
        if op is None:
            rep.error(where, 'genl_ops: %s is no operation of the spec' % cmd)
            continue
        seen.add(cmd)
        label = 'genl_ops %s' % cmd
        rep.compared += 1
        for cb, key in (('doit', 'do'), ('dumpit', 'dump')):
            if (cb in o) != (key in op):
                rep.error(where, '%s: %s %s, the spec %s %s'
                          % (label, 'has' if cb in o else 'has no', cb,
                             'has' if key in op else 'has no', key))
        admin = 'GENL_ADMIN_PERM' in o.get('flags', '')
        if admin != ('admin-perm' in op.get('flags', [])):
            rep.error(where, '%s: %s' % (label, 'GENL_ADMIN_PERM, but no '
                                         'admin-perm in the spec' if admin
                                         else 'no GENL_ADMIN_PERM, but '
                                         'admin-perm in the spec'))
        s = spec.sets.get(op.get('attribute-set'))
        req = set()
        for key in ('do', 'dump'):
            req |= set(((op.get(key) or {}).get('request') or {})
                       .get('attributes', []))
        pname = o.get('policy')
        if pname is None:
            if req:
                rep.error(where, '%s: no policy, the spec\'s requests take %s'
                          % (label, sorted(req)))
            continue
        if pname not in pol.arrays or s is None:
            rep.error(where, '%s: policy %s or attribute-set %s not found'
                      % (label, pname, op.get('attribute-set')))
            continue
        if array_set.get(pname) is not s:
            rep.error(where, '%s: policy %s is not of attribute-set %s'
                      % (label, pname, s.name))
            continue
        got = set()
        for e in pol.arrays[pname][1]:
            if e.attr in s.by_cname:
                got.add(s.by_cname[e.attr]['name'])
        if got != req:
            rep.error(where, '%s: policy %s takes %s, the spec\'s requests %s'
                      % (label, pname, sorted(got), sorted(req)))
        if o.get('maxattr', s.max_name) != s.max_name:
            rep.error(where, '%s: maxattr %s, not %s' % (label, o['maxattr'],
                                                        s.max_name))
    for op, cname, _ in spec.ops:
        if ('do' in op or 'dump' in op) and cname not in seen:
            rep.error(where, 'operation %s (%s): not in genl_ops'
                      % (op['name'], cname))

    # The family and its groups.
    y = spec.y
    fam = spec.family
    if pol.family is None:
        rep.error(where, 'no struct genl_family')
    else:
        for key, want in (
                ('name', c_upper(y.get('c-family-name',
                                       fam + '-family-name'))),
                ('version', c_upper(y.get('c-version-name',
                                          fam + '-family-version')))):
            rep.compared += 1
            if pol.family.get(key) != want:
                rep.error(where, 'genl_family .%s = %s, not %s'
                          % (key, pol.family.get(key), want))
    want = sorted(c_upper(g.get('c-define-name',
                                '%s-mcgrp-%s' % (fam, g['name'])))
                  for g in y.get('mcast-groups', {}).get('list', []))
    rep.compared += 1
    if sorted(pol.mcgrps) != want:
        rep.error(where, 'multicast groups %s, the spec\'s %s'
                  % (sorted(pol.mcgrps), want))


# --------------------------------------------------------------------- main

def spec_sanity(spec, rep):
    """Checks the spec makes on itself: limits resolve and fit the type,
    an enum attribute's max is its enum's."""
    for s in spec.sets.values():
        for attr, _, _ in s.attrs:
            where = 'attribute-set %s: %s' % (s.name, attr['name'])
            ch = spec.checks(s.name, attr)
            t = attr['type']
            for key in ch:
                if key in ('min', 'max') and t not in INT_TYPES:
                    rep.error(spec.path, '%s: %s on type %s' % (where, key, t))
                if key in LEN_CHECKS and t not in ('string', 'binary'):
                    rep.error(spec.path, '%s: %s on type %s' % (where, key, t))
            if 'min' in ch and 'max' in ch and ch['min'] > ch['max']:
                rep.error(spec.path, '%s: min above max' % where)
            if 'min-len' in ch and 'max-len' in ch and \
                    ch['min-len'] > ch['max-len']:
                rep.error(spec.path, '%s: min-len above max-len' % where)
            if t in INT_TYPES and 'max' in ch and t[0] == 'u' and \
                    ch['max'] >= 1 << INT_TYPES[t]:
                rep.error(spec.path, '%s: max beyond %s' % (where, t))
            if 'enum' in attr and 'max' in ch:
                e = spec.enums.get(attr['enum'])
                if e is None:
                    rep.error(spec.path, '%s: no enum %s' % (where,
                                                           attr['enum']))
                elif e['type'] == 'enum' and ch['max'] != \
                        e.get('value-start', 0) + len(e['entries']) - 1:
                    rep.error(spec.path, '%s: max %d is not enum %s\'s last '
                              'value' % (where, ch['max'], attr['enum']))
            n = attr.get('nested-attributes')
            if n is not None and n not in spec.sets:
                rep.error(spec.path, '%s: no attribute-set %s' % (where, n))


def main():
    ap = argparse.ArgumentParser(
        description='Compare the chainmesh YNL spec with the uAPI header '
        'and the host module\'s netlink policies.')
    ap.add_argument('--spec', default=os.path.join(
        ROOT, 'Documentation/netlink/specs/chainmesh.yaml'))
    ap.add_argument('--uapi', default=os.path.join(ROOT, 'include/uapi'),
                    help='directory the spec\'s header names are under')
    ap.add_argument('--policy', default=os.path.join(ROOT, 'host/netlink.c'),
                    help='C file with the nla_policy tables and genl_ops')
    ap.add_argument('--no-policy', action='store_true',
                    help='compare the spec and the header only')
    ap.add_argument('-I', dest='incdirs', action='append',
                    help='directory whose .h define the macros the '
                    'policies use (default: include/chainmesh, host)')
    ap.add_argument('-v', '--verbose', action='store_true')
    args = ap.parse_args()
    if args.incdirs is None:
        args.incdirs = [os.path.join(ROOT, 'include/chainmesh'),
                        os.path.join(ROOT, 'host')]

    rep = Report(args.verbose)
    try:
        spec = Spec(args.spec)
        hdrs = Headers(args.uapi)
        # every uAPI header first, so that policies see their names
        for path in sorted(glob.glob(os.path.join(args.uapi, 'linux',
                                                  '*.h'))):
            hdrs.get(os.path.relpath(path, args.uapi))
        spec_sanity(spec, rep)
        check_header(spec, hdrs, rep)
        if not args.no_policy:
            for d in args.incdirs:
                for path in sorted(glob.glob(os.path.join(d, '*.h'))):
                    hdrs.scope.add_file(CFile(path))
            pol = Policies(args.policy, hdrs.scope)
            check_policy(spec, pol, rep)
    except (ParseError, EvalError, OSError, yaml.YAMLError, KeyError) as e:
        print('ynl-check: error: %s' % e, file=sys.stderr)
        return 2
    for e in rep.errors:
        print('ynl-check: ' + e, file=sys.stderr)
    if rep.errors:
        print('ynl-check: %d mismatch%s' % (len(rep.errors),
                                            'es' if len(rep.errors) > 1
                                            else ''), file=sys.stderr)
        return 1
    print('ynl-check: %s agrees with %s%s (%d comparisons)'
          % (os.path.relpath(args.spec), spec.uapi_header,
             '' if args.no_policy else ' and ' + os.path.relpath(args.policy),
             rep.compared))
    return 0


if __name__ == '__main__':
    sys.exit(main())
