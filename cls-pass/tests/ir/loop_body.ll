; The one call per global sits in the entry block: the loop body has none, and uses
; in the loop read the entry call's result.

@sum = global i64 0
@data = global [100 x i64] zeroinitializer

; CHECK-LABEL: define void @accumulate(i64 %n)
; CHECK:       entry:
; CHECK-COUNT-2: call i8* @__cls_get_addr
; CHECK-NOT:     call i8* @__cls_get_addr
; CHECK:       loop:
; CHECK-NOT:     call i8* @__cls_get_addr
; CHECK:         %p = getelementptr [100 x i64], [100 x i64]* %data.cls, i64 0, i64 %i
; CHECK:         %s = load i64, i64* %sum.cls
; CHECK:         store i64 %s1, i64* %sum.cls
; CHECK:       exit:
; CHECK-NOT:     call i8* @__cls_get_addr
; CHECK:       }
define void @accumulate(i64 %n) {
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i1, %loop ]
  %p = getelementptr [100 x i64], [100 x i64]* @data, i64 0, i64 %i
  %v = load i64, i64* %p
  %s = load i64, i64* @sum
  %s1 = add i64 %s, %v
  store i64 %s1, i64* @sum
  %i1 = add i64 %i, 1
  %done = icmp eq i64 %i1, %n
  br i1 %done, label %exit, label %loop
exit:
  ret void
}
