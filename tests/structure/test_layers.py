"""The source tree's shape: server/ layers used in one direction, no module including another
that includes it back, no source file past the size a reader can hold in mind.

The layer order is the one server/CMakeLists.txt builds (SOCKS5D_LAYERS); server/README.md
draws it. protocol/ is the admin protocol library that the server and the console share: it
includes nothing of theirs."""

import os
import re
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SOURCE_FOLDERS = ("server", "console", "protocol")
MAX_LINES = 700
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)


def server_layers():
    with open(os.path.join(ROOT, "server", "CMakeLists.txt")) as cmake:
        match = re.search(r"set\(SOCKS5D_LAYERS([^)]*)\)", cmake.read())
    return match.group(1).split()


def source_files(folder):
    """Paths (relative to ROOT) of the .c and .h files under folder."""
    found = []
    for directory, _, names in os.walk(os.path.join(ROOT, folder)):
        found += [os.path.relpath(os.path.join(directory, name), ROOT)
                  for name in names if name.endswith((".c", ".h"))]
    return sorted(found)


def includes(path):
    """(line number, header) of each quoted include in path."""
    with open(os.path.join(ROOT, path)) as source:
        text = source.read()
    return [(text.count("\n", 0, match.start()) + 1, match.group(1))
            for match in INCLUDE_RE.finditer(text)]


def header_index():
    """header name -> its path; every header name is unique across the three folders."""
    index = {}
    for folder in SOURCE_FOLDERS:
        for path in source_files(folder):
            if path.endswith(".h"):
                index.setdefault(os.path.basename(path), []).append(path)
    return index


def module_of(path):
    """server/socks/relay.c -> server/socks/relay: a module is its .c and .h together."""
    return os.path.splitext(path)[0]


class LayerTest(unittest.TestCase):
    def setUp(self):
        self.layers = server_layers()
        self.headers = header_index()

    def test_header_names_are_unique(self):
        clashes = {name: paths for name, paths in self.headers.items() if len(paths) > 1}
        self.assertEqual(clashes, {}, "includes name headers by file name alone")

    def test_every_server_file_is_in_a_layer(self):
        loose = [path for path in source_files("server")
                 if path.split(os.sep)[1] not in self.layers]
        self.assertEqual(loose, [], "server sources outside %s" % self.layers)

    def layer_of(self, path):
        parts = path.split(os.sep)
        if parts[0] == "server":
            return ("server", self.layers.index(parts[1]))
        return (parts[0], None)

    def allowed(self, including, included):
        """May the file `including` include the header at `included`?"""
        source_folder, source_rank = self.layer_of(including)
        target_folder, target_rank = self.layer_of(included)
        if target_folder == "protocol":
            return True
        if source_folder != target_folder:
            return False
        return source_folder != "server" or target_rank <= source_rank

    def test_includes_go_down_the_layers_only(self):
        wrong = []
        for folder in SOURCE_FOLDERS:
            for path in source_files(folder):
                for line, header in includes(path):
                    targets = self.headers.get(os.path.basename(header))
                    if targets is None:
                        wrong.append("%s:%d: %s is no header of this project" %
                                     (path, line, header))
                    elif not self.allowed(path, targets[0]):
                        wrong.append("%s:%d: includes %s from a higher layer or another "
                                     "program" % (path, line, targets[0]))
        self.assertEqual(wrong, [], "\n" + "\n".join(wrong))

    def test_the_check_itself_sees_an_upward_include(self):
        low = os.path.join("server", self.layers[0], "x.c")
        high = os.path.join("server", self.layers[-1], "x.h")
        self.assertFalse(self.allowed(low, high))
        self.assertTrue(self.allowed(high, os.path.join("server", self.layers[0], "x.h")))
        self.assertFalse(self.allowed(os.path.join("protocol", "x.c"), high))
        self.assertFalse(self.allowed(os.path.join("console", "x.c"), high))


class CircleTest(unittest.TestCase):
    def test_no_modules_include_each_other_in_a_circle(self):
        headers = header_index()
        graph = {}
        for folder in SOURCE_FOLDERS:
            for path in source_files(folder):
                edges = graph.setdefault(module_of(path), set())
                for _, header in includes(path):
                    target = headers.get(os.path.basename(header))
                    if target and module_of(target[0]) != module_of(path):
                        edges.add(module_of(target[0]))
        circles = [sorted(component) for component in strongly_connected(graph)
                   if len(component) > 1]
        self.assertEqual(circles, [], "modules that include each other")

    def test_the_check_itself_finds_a_circle(self):
        graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
        self.assertEqual([sorted(c) for c in strongly_connected(graph) if len(c) > 1],
                         [["a", "b", "c"]])


class SizeTest(unittest.TestCase):
    def test_no_source_file_is_over_the_limit(self):
        long_files = []
        for folder in SOURCE_FOLDERS:
            for path in source_files(folder):
                with open(os.path.join(ROOT, path)) as source:
                    lines = sum(1 for _ in source)
                if lines > MAX_LINES:
                    long_files.append("%s: %d lines" % (path, lines))
        self.assertEqual(long_files, [], "over %d lines: split by what each part owns" %
                         MAX_LINES)


def strongly_connected(graph):
    """Tarjan's algorithm, iterative: the strongly connected components of graph."""
    index, low, on_stack, stack, components = {}, {}, set(), [], []
    counter = [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
    return components


if __name__ == "__main__":
    unittest.main()
