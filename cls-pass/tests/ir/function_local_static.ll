; A function-local static (internal linkage, as clang emits `static int calls;`) is CLS
; data like any other writable global; its linkage stays internal. Both are this
; module's own templates (no other object can interpose them): one call finds the first,
; the second is as far from it as their templates are.

; CHECK: @next_id.calls = internal global i32 0, section ".cls.bss", align 4
@next_id.calls = internal global i32 0, align 4
; CHECK: @next_id.base = internal global i32 100, section ".cls.data", align 4
@next_id.base = internal global i32 100, align 4

; CHECK-LABEL: define i32 @next_id()
; CHECK-NEXT:    %next_id.calls.cls.raw = call i8* @__cls_get_addr(i8* bitcast (i32* @next_id.calls to i8*))
; CHECK-NEXT:    %next_id.calls.cls = bitcast i8* %next_id.calls.cls.raw to i32*
; CHECK-NEXT:    %next_id.base.cls.raw = getelementptr i8, i8* %next_id.calls.cls.raw, i64 sub (i64 ptrtoint (i32* @next_id.base to i64), i64 ptrtoint (i32* @next_id.calls to i64))
; CHECK-NEXT:    %next_id.base.cls = bitcast i8* %next_id.base.cls.raw to i32*
; CHECK-NEXT:    %n = load i32, i32* %next_id.calls.cls
; CHECK-NEXT:    %n1 = add i32 %n, 1
; CHECK-NEXT:    store i32 %n1, i32* %next_id.calls.cls
; CHECK-NEXT:    %b = load i32, i32* %next_id.base.cls
define i32 @next_id() {
  %n = load i32, i32* @next_id.calls
  %n1 = add i32 %n, 1
  store i32 %n1, i32* @next_id.calls
  %b = load i32, i32* @next_id.base
  %r = add i32 %b, %n1
  ret i32 %r
}
