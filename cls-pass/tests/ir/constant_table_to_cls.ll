; Constants that point at CLS data become CLS data themselves (to a fixpoint), so their
; per-cVM copies can be relocated onto the cVM's instance: a table of pointers to
; writable globals, a constant pointing at that table, and a constant struct holding a
; constant expression over a writable global.

@a = global i32 1
@b = global i32 2

; CHECK: @table = global [2 x i32*] [i32* @a, i32* @b], section ".cls.data", align 16
@table = constant [2 x i32*] [i32* @a, i32* @b], align 16
; CHECK: @table_ref = internal global [2 x i32*]* @table, section ".cls.data", align 8
@table_ref = internal constant [2 x i32*]* @table, align 8
; CHECK: @offset_ref = global { i64, i8* } { i64 1, i8* getelementptr (i8, i8* bitcast (i32* @b to i8*), i64 2) }, section ".cls.data"
@offset_ref = constant { i64, i8* } { i64 1, i8* getelementptr (i8, i8* bitcast (i32* @b to i8*), i64 2) }

; CHECK-LABEL: define i32* @pick(i64 %i)
; CHECK-NEXT:    %table_ref.cls.raw = call i8* @__cls_get_addr(i8* bitcast ([2 x i32*]** @table_ref to i8*))
; CHECK-NEXT:    %table_ref.cls = bitcast i8* %table_ref.cls.raw to [2 x i32*]**
; CHECK-NEXT:    %t = load [2 x i32*]*, [2 x i32*]** %table_ref.cls
define i32* @pick(i64 %i) {
  %t = load [2 x i32*]*, [2 x i32*]** @table_ref
  %p = getelementptr [2 x i32*], [2 x i32*]* %t, i64 0, i64 %i
  %v = load i32*, i32** %p
  ret i32* %v
}
