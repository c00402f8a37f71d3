//! Merges structurally identical modules.
//!
//! rust-hdl emits one module per *instance* (`top$pe0$acc`, `top$pe1$acc`, ...), so an R x C
//! array would otherwise carry R*C copies of the same PE text. Two modules are the same when their
//! port lists and bodies are identical (the name is not part of the body); one of them is kept
//! and every instantiation is pointed at it. Merging children can make parents identical, so
//! this repeats until nothing changes.

use super::netlist::Module;
use std::collections::{BTreeMap, BTreeSet};

/// Removes duplicates in place (never the module named `top`) and returns how many were removed.
pub fn dedup(modules: &mut Vec<Module>, top: &str) -> usize {
    let mut removed = 0;
    loop {
        // Body text -> names with that body. The kept module is the smallest name, so the result
        // does not depend on emission order.
        let mut groups: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
        for module in modules.iter().filter(|m| m.name != top) {
            let key = (module.ports.clone(), module.body.join("\n"));
            groups.entry(key).or_default().insert(module.name.clone());
        }
        let mut replace: BTreeMap<String, String> = BTreeMap::new();
        for names in groups.values().filter(|names| names.len() > 1) {
            let mut names = names.iter();
            let Some(keep) = names.next() else { continue };
            for other in names {
                replace.insert(other.clone(), keep.clone());
            }
        }
        if replace.is_empty() {
            return removed;
        }
        removed += replace.len();
        modules.retain(|m| !replace.contains_key(&m.name));
        for module in modules.iter_mut() {
            module.rename_instances_by(|kind| replace.get(kind).map(String::as_str));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(name: &str, body: &[&str]) -> Module {
        Module { name: name.into(), ports: "d".into(), body: body.iter().map(|s| s.to_string()).collect() }
    }

    #[test]
    fn merges_leaves_then_parents() {
        let leaf = ["    q <= d;"];
        let mut modules = vec![
            module("top", &["    top$a a(", "    );", "    top$b b(", "    );"]),
            module("top$a", &["    top$a$r r(", "    );"]),
            module("top$a$r", &leaf),
            module("top$b", &["    top$b$r r(", "    );"]),
            module("top$b$r", &leaf),
        ];
        assert_eq!(dedup(&mut modules, "top"), 2);
        let names: Vec<_> = modules.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, vec!["top", "top$a", "top$a$r"]);
        assert_eq!(modules[0].body[2], "    top$a b(");
    }

    #[test]
    fn keeps_modules_that_differ() {
        let mut modules = vec![module("top", &[]), module("top$a", &["    x;"]), module("top$b", &["    y;"])];
        assert_eq!(dedup(&mut modules, "top"), 0);
        assert_eq!(modules.len(), 3);
    }
}
