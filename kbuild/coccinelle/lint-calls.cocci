// SPDX-License-Identifier: GPL-2.0
// kvmnull lint, main pass: every call kvm.ko makes of a vendor hook, and what
// Coccinelle's control-flow graph says stands before it.  Each fact is one line:
//   KVMNULL|call|FILE|LINE|COLUMN|FUNCTION|HOOK ID|CALLEE|STRUCT   every call, in every spelling
//                                      (STRUCT: the ops struct of a typed pointer, `pmu_ops->f()`)
//   KVMNULL|discarded|FILE|LINE|COLUMN                        its value is not used
//   KVMNULL|unchecked|FILE|LINE|COLUMN                        some path from the function's entry
//                                                            reaches it without reading the hook pointer
//   KVMNULL|guard|FILE|LINE|COLUMN|CONDITION                  `C && call`, `C ? call : x`, `!C || call`:
//                                                            the call is evaluated only when C holds
//   KVMNULL|then|FILE|LINE|COLUMN|END LINE|END COLUMN|CONDITION  the span of an if's branch taken
//   KVMNULL|else|...                                         when CONDITION holds, or else
// kvmnull appends one rule per helper the first pass found (KVMNULL|unhelped|HELPER|...).

@initialize:python@
@@
PREFIXES = ("kvm_x86_pmu_", "kvm_x86_nested_", "kvm_x86_")

def member(callee, ident):
    """The ops struct member a call reaches: static_call(kvm_x86_pmu_f) -> f."""
    if callee.replace(" ", "").startswith(("static_call(", "static_call_cond(")):
        for prefix in PREFIXES:
            if ident.startswith(prefix):
                return ident[len(prefix):]
    return ident

def where(p):
    return "%s|%s|%s" % (p[0].file, p[0].line, p[0].column)

@call@
identifier F;
expression E;
{struct kvm_x86_ops *, const struct kvm_x86_ops *} OX;
{struct kvm_pmu_ops *, const struct kvm_pmu_ops *} OP;
{struct kvm_x86_nested_ops *, const struct kvm_x86_nested_ops *} ON;
position p;
@@
(
static_call(F)@E@p(...)
|
static_call_cond(F)@E@p(...)
|
kvm_x86_call(F)@E@p(...)
|
kvm_pmu_call(F)@E@p(...)
|
kvm_nested_call(F)@E@p(...)
|
kvm_x86_ops.F@E@p(...)
|
kvm_pmu_ops.F@E@p(...)
|
kvm_nested_ops.F@E@p(...)
|
kvm_x86_ops.nested_ops->F@E@p(...)
|
OX->F@E@p(...)
|
OP->F@E@p(...)
|
ON->F@E@p(...)
)

@script:python hook@
F << call.F;
E << call.E;
p << call.p;
OX << call.OX = "";
OP << call.OP = "";
ON << call.ON = "";
M;
@@
struct = "kvm_x86_ops" if OX else "kvm_pmu_ops" if OP else "kvm_x86_nested_ops" if ON else ""
print("KVMNULL|call|%s|%s|%s|%s|%s" % (where(p), p[0].current_element, F, " ".join(E.split()), struct))
coccinelle.M = cocci.make_ident(member(E, F))

@discarded@
expression call.E;
position call.p;
position q;
@@
(
E@p@q(...);
|
 (void)E@p@q(...);
)

@script:python@
q << discarded.q;
@@
print("KVMNULL|discarded|%s" % where(q))

@unchecked exists@
identifier hook.M;
expression call.E;
position call.p;
position q;
identifier fn;
{struct kvm_x86_ops *, const struct kvm_x86_ops *, struct kvm_pmu_ops *, const struct kvm_pmu_ops *,
 struct kvm_x86_nested_ops *, const struct kvm_x86_nested_ops *} O;
@@
fn(...) {
... when != kvm_x86_ops.M
    when != kvm_pmu_ops.M
    when != kvm_nested_ops.M
    when != kvm_x86_ops.nested_ops->M
    when != O->M
    when any
E@p@q(...)
... when any
}

@script:python@
q << unchecked.q;
@@
print("KVMNULL|unchecked|%s" % where(q))

@guard@
expression call.E;
position call.p;
position q;
expression X, Y;
@@
(
X && <+... E@p@q(...) ...+>
|
X ? <+... E@p@q(...) ...+> : Y
|
!X || <+... E@p@q(...) ...+>
)

@script:python@
q << guard.q;
X << guard.X;
@@
print("KVMNULL|guard|%s|%s" % (where(q), " ".join(X.split())))

@branches@
expression C;
statement S1, S2;
position pt, pe;
@@
(
if (C) S1@pt else S2@pe
|
if (C) S1@pt
)

@script:python@
C << branches.C;
pt << branches.pt;
@@
print("KVMNULL|then|%s|%s|%s|%s" % (where(pt), pt[0].line_end, pt[0].column_end, " ".join(C.split())))

@script:python@
C << branches.C;
pe << branches.pe;
@@
print("KVMNULL|else|%s|%s|%s|%s" % (where(pe), pe[0].line_end, pe[0].column_end, " ".join(C.split())))
