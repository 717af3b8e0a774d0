//! The JavaScript the sandbox runs around user code (the bootstrap that installs `console`,
//! the variables and the array-length guards; the filter driver) and the names user
//! variables may not take.

/// Runs before any user code. Captures the builtins the console needs (so
/// later tampering by user code cannot break or hijack logging), installs
/// `console`, and defines each variable as a global after refusing names
/// that already resolve on `globalThis` (builtins, `__proto__`, `toString`, ...).
/// Returns the first refused name, or null.
///
/// It also wraps every `Array.prototype` method with a length guard: several
/// QuickJS natives (`join`, `reverse`, `splice`, `sort`, `copyWithin`,
/// `concat`, ...) loop over `length` without polling the interrupt handler,
/// so `Array.prototype.join.call({length: 2**40}, "")` would ignore the
/// timeout. The guard refuses lengths above `maxLen` (what a dense array can
/// reach in the heap) and array-likes whose `length` is an accessor or not a
/// number (those could report a small length to the guard and a huge one to
/// the native). This is sound only because `Proxy` is not provided.
pub(super) const BOOTSTRAP_JS: &str = r#"(function (nativeLog, varsJson, maxLen) {
  "use strict";
  const apply = Reflect.apply, ownKeys = Reflect.ownKeys, gopd = Object.getOwnPropertyDescriptor;
  const getProto = Object.getPrototypeOf, isArray = Array.isArray, isView = ArrayBuffer.isView;
  const hasOwn = Object.prototype.hasOwnProperty, toObject = Object;
  const RangeErr = RangeError, TypeErr = TypeError;
  function checkLength(o) {
    if (o === null || o === undefined) return;
    if (isArray(o)) {
      if (o.length > maxLen) throw new RangeErr("array length exceeds sandbox limit");
      return;
    }
    if (isView(o)) return;
    let p = toObject(o);
    while (p !== null) {
      const d = gopd(p, "length");
      if (d !== undefined) {
        if (!apply(hasOwn, d, ["value"]) || typeof d.value !== "number") {
          throw new TypeErr("sandbox: array-like length must be a plain number");
        }
        if (d.value > maxLen) throw new RangeErr("array length exceeds sandbox limit");
        return;
      }
      p = getProto(p);
    }
  }
  const AP = Array.prototype;
  const methods = ownKeys(AP);
  for (let i = 0; i < methods.length; i++) {
    const key = methods[i];
    if (typeof key !== "string" || key === "constructor") continue;
    const d = gopd(AP, key);
    if (typeof d.value !== "function") continue;
    const orig = d.value;
    const wrapped = ({ [key](...args) {
      checkLength(this);
      if (key === "concat") {
        for (let j = 0; j < args.length; j++) {
          const a = args[j];
          if ((typeof a === "object" && a !== null) || typeof a === "function") checkLength(a);
        }
      }
      return apply(orig, this, args);
    } })[key];
    Object.defineProperty(AP, key, { value: wrapped, writable: d.writable, enumerable: d.enumerable, configurable: d.configurable });
  }
  const stringify = JSON.stringify, parse = JSON.parse, toStr = String;
  const defineProperty = Object.defineProperty, freeze = Object.freeze, keys = Object.keys;
  function fmt(v) {
    if (typeof v === "string") return v;
    if (v === undefined) return "undefined";
    if (typeof v === "function") return "[function]";
    try { const s = stringify(v); if (s !== undefined) return s; } catch (e) {}
    try { return toStr(v); } catch (e) { return "[unprintable]"; }
  }
  function log() {
    let line = "";
    for (let i = 0; i < arguments.length; i++) {
      if (i > 0) line += " ";
      line += fmt(arguments[i]);
    }
    nativeLog(line);
  }
  const vars = parse(varsJson);
  const names = keys(vars);
  for (let i = 0; i < names.length; i++) {
    if (names[i] in globalThis || names[i] === "console") return names[i];
  }
  defineProperty(globalThis, "console", {
    value: freeze({ log: log, error: log, warn: log, info: log, debug: log }),
    writable: true, enumerable: false, configurable: true,
  });
  for (let i = 0; i < names.length; i++) {
    defineProperty(globalThis, names[i], {
      value: vars[names[i]], writable: true, enumerable: true, configurable: true,
    });
  }
  return null;
})"#;

/// Drives a filter predicate over all items in one invocation. Uses only
/// operators and primitive string concatenation after user code starts, so
/// prototype tampering inside the predicate cannot corrupt the result.
/// Returns "1"/"0" per item, or "!<index>:<type>" on a non-boolean.
pub(super) const FILTER_JS: &str = r#"(function (pred, itemsJson) {
  "use strict";
  const items = JSON.parse(itemsJson);
  const isArray = Array.isArray;
  const n = items.length;
  let out = "";
  for (let i = 0; i < n; i++) {
    const r = pred(items[i], i);
    if (typeof r !== "boolean") {
      return "!" + i + ":" + (r === null ? "null" : isArray(r) ? "array" : typeof r);
    }
    out += r ? "1" : "0";
  }
  return out;
})"#;

/// Words that cannot be (or must not be) global binding names.
pub(super) const RESERVED: &[&str] = &[
    "arguments",
    "await",
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "eval",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "function",
    "if",
    "implements",
    "import",
    "in",
    "instanceof",
    "interface",
    "let",
    "new",
    "null",
    "package",
    "private",
    "protected",
    "public",
    "return",
    "static",
    "super",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "var",
    "void",
    "while",
    "with",
    "yield",
];
