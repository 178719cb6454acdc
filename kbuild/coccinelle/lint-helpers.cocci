// SPDX-License-Identifier: GPL-2.0
// kvmnull lint, first pass: functions that return an expression reading a vendor hook
// pointer, e.g. `return kvm_x86_ops.flush_remote_tlbs_range;`.  Each match prints
//   KVMNULL|helper|FILE|LINE|COLUMN|HELPER|MEMBER
// where FILE:LINE:COLUMN is the member read (kvmnull drops reads that are calls).

@helper@
identifier H, M;
type T;
position ph, pm;
@@
T H@ph(...) {
<+...
(
return <+... kvm_x86_ops.M@pm ...+>;
|
return <+... kvm_pmu_ops.M@pm ...+>;
|
return <+... kvm_nested_ops.M@pm ...+>;
|
return <+... kvm_x86_ops.nested_ops->M@pm ...+>;
)
...+>
}

@script:python@
H << helper.H;
M << helper.M;
pm << helper.pm;
@@
print("KVMNULL|helper|%s|%s|%s|%s|%s" % (pm[0].file, pm[0].line, pm[0].column, H, M))
