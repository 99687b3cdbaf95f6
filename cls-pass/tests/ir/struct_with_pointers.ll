; A struct holding pointers to other globals and to a function is CLS data with its
; initializer unchanged: the pointers stay template addresses (relocations in the
; template, rebased per instance by the intravisor). A constant struct pointing at CLS
; data loses its `constant` flag and becomes CLS data too.

%struct.ops = type { i32*, [2 x i32]*, i32 (i32)*, i64 }

@value = global i32 7
@pair = internal global [2 x i32] [i32 1, i32 2]

; CHECK: @ops = global %struct.ops { i32* @value, [2 x i32]* @pair, i32 (i32)* @twice, i64 5 }, section ".cls.data", align 8
@ops = global %struct.ops { i32* @value, [2 x i32]* @pair, i32 (i32)* @twice, i64 5 }, align 8
; CHECK: @const_ops = global %struct.ops { i32* @value, [2 x i32]* @pair, i32 (i32)* @twice, i64 6 }, section ".cls.data", align 8
@const_ops = constant %struct.ops { i32* @value, [2 x i32]* @pair, i32 (i32)* @twice, i64 6 }, align 8
; A constant that only points at a function stays a plain constant.
; CHECK: @fn_only = constant i32 (i32)* @twice, align 8
@fn_only = constant i32 (i32)* @twice, align 8

define i32 @twice(i32 %x) {
  %r = mul i32 %x, 2
  ret i32 %r
}

; CHECK-LABEL: define i32 @call_through(i32 %x)
; CHECK:         %const_ops.cls.raw = call i8* @__cls_get_addr(i8* bitcast (%struct.ops* @const_ops to i8*))
; CHECK:         [[F:%[0-9]+]] = getelementptr inbounds %struct.ops, %struct.ops* %const_ops.cls, i32 0, i32 2
; CHECK-NEXT:    %fp = load i32 (i32)*, i32 (i32)** [[F]], align 8
; CHECK-NOT:     @__cls_get_addr(i8* bitcast (i32 (i32)** @fn_only
; CHECK:         %g = load i32 (i32)*, i32 (i32)** @fn_only, align 8
define i32 @call_through(i32 %x) {
  %fp = load i32 (i32)*, i32 (i32)** getelementptr inbounds (%struct.ops, %struct.ops* @const_ops, i32 0, i32 2), align 8
  %r = call i32 %fp(i32 %x)
  %g = load i32 (i32)*, i32 (i32)** @fn_only, align 8
  %s = call i32 %g(i32 %r)
  ret i32 %s
}
