"""The layout of `trainers/`: imports point one way and form no cycle.

Read statically from the source (no TensorFlow): every `import` and
`from ... import` of a `trainers` module, at module level or inside a
function, is an edge of the import graph. The rules (see `trainers/__init__.py`):

* no cycle among the modules of `trainers/`;
* `trainers.core` imports no family (nothing outside `trainers.core`);
* a family package (`trainers.vc`, `trainers.weak`, `trainers.mtl`) imports
  `trainers.core` and itself, never another family; the top-level modules
  (`toy`, `partition_demo`) import only `trainers.core`;
* a module that is run as a script (`if __name__ == "__main__":`) and
  defines gin configurables is imported by no other module, so its
  configurables are registered once per process (run as `__main__`, a module
  imported elsewhere would register them a second time under `__main__`).

The body of an `if __name__ == "__main__":` block belongs to the script, not
to the module that others import: its imports obey the boundary rules but are
not edges of the cycle check (`python -m trainers.weak.plots <run dir>` needs
the weak driver, which imports `trainers.weak.plots` as a module).
"""

import ast
import os
import unittest

from tests import subprocess_result

TRAINERS = os.path.join(subprocess_result.REPO_ROOT, "trainers")
FAMILIES = ("vc", "weak", "mtl")


def _modules():
    """`{dotted module name: path}` of every `.py` file under `trainers/`."""
    modules = {}
    for directory, _, names in os.walk(TRAINERS):
        for name in names:
            if not name.endswith(".py"):
                continue
            path = os.path.join(directory, name)
            parts = os.path.relpath(path, os.path.dirname(TRAINERS))[:-len(".py")].split(os.sep)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def _is_main_block(node):
    """Whether `node` is `if __name__ == "__main__":`."""
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
            and test.left.id == "__name__" and len(test.comparators) == 1
            and isinstance(test.comparators[0], ast.Constant)
            and test.comparators[0].value == "__main__")


def _imports(tree, modules):
    """`(module imports, main-block imports)`: the `trainers` modules imported."""
    main_nodes = set()
    for node in tree.body:
        if _is_main_block(node):
            main_nodes.update(id(n) for n in ast.walk(node))
    module_imports, main_imports = set(), set()
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from package import submodule` imports the submodule.
            targets = [f"{node.module}.{alias.name}"
                       if f"{node.module}.{alias.name}" in modules else node.module
                       for alias in node.names]
        for target in targets:
            if target == "trainers" or target.startswith("trainers."):
                (main_imports if id(node) in main_nodes else module_imports).add(target)
    return module_imports, main_imports


def _defines_configurable(tree):
    return any(isinstance(node, ast.Attribute) and node.attr == "configurable"
               and isinstance(node.value, ast.Name) and node.value.id == "gin"
               for node in ast.walk(tree))


def _area(module):
    """'root', 'core', a family name, or 'top' (`trainers.toy`, ...)."""
    parts = module.split(".")
    if len(parts) == 1:
        return "root"
    if parts[1] == "core" or parts[1] in FAMILIES:
        return parts[1]
    return "top"


def _find_cycle(graph):
    """A list of modules forming a cycle of `graph`, or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for successor in sorted(graph.get(node, ())):
            if state.get(successor) == "open":
                return stack[stack.index(successor):] + [successor]
            if successor not in state:
                cycle = visit(successor)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


class TrainersLayoutTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.modules = _modules()
        cls.trees, cls.graph, cls.main_imports = {}, {}, {}
        for module, path in cls.modules.items():
            with open(path) as f:
                tree = ast.parse(f.read(), path)
            cls.trees[module] = tree
            cls.graph[module], cls.main_imports[module] = _imports(tree, cls.modules)

    def test_layout(self):
        for module in ("trainers.core.cli", "trainers.core.training", "trainers.core.workers",
                       "trainers.core.distributed_step", "trainers.toy",
                       "trainers.partition_demo", "trainers.vc.__main__",
                       "trainers.vc.distributed_step", "trainers.weak.__main__",
                       "trainers.weak.plots", "trainers.mtl.__main__", "trainers.mtl.sweep",
                       "trainers.mtl.allocation"):
            self.assertIn(module, self.modules)

    def test_every_import_resolves(self):
        for module, imports in self.graph.items():
            for target in imports | self.main_imports[module]:
                self.assertIn(target, self.modules, f"{module} imports {target}")

    def test_no_import_cycle(self):
        self.assertIsNone(_find_cycle(self.graph))

    def test_cycle_check_finds_a_cycle(self):
        self.assertEqual(_find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}),
                         ["a", "b", "c", "a"])
        self.assertIsNone(_find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}))

    def test_imports_point_from_families_to_core(self):
        allowed = {"root": {"root"}, "core": {"root", "core"}, "top": {"root", "core"}}
        for module in self.modules:
            area = _area(module)
            permitted = allowed.get(area, {"root", "core", area})
            for target in self.graph[module] | self.main_imports[module]:
                self.assertIn(_area(target), permitted,
                              f"{module} ({area}) must not import {target}")

    def test_scripts_with_configurables_are_imported_by_no_module(self):
        imported = set().union(*self.graph.values(), *self.main_imports.values())
        for module, tree in self.trees.items():
            is_script = any(_is_main_block(node) for node in tree.body)
            if is_script and _defines_configurable(tree):
                self.assertNotIn(module, imported,
                                 f"{module} registers gin configurables and runs as a script")


if __name__ == "__main__":
    unittest.main()
