; The LLVM 16 build on opaque-pointer IR: no casts around __cls_get_addr, which is
; declared `memory(none)` instead of `readnone`; sections, promotion of constants that
; point at CLS data, constant GEPs, PHIs and loops work as with LLVM 14.

; CHECK: @counter = global i32 0, section ".cls.bss", align 4
@counter = global i32 0, align 4
; CHECK: @table = global [4 x i32] [i32 1, i32 2, i32 3, i32 4], section ".cls.data", align 16
@table = global [4 x i32] [i32 1, i32 2, i32 3, i32 4], align 16
; CHECK: @pointers = global [2 x ptr] [ptr @counter, ptr getelementptr inbounds ([4 x i32], ptr @table, i64 0, i64 1)], section ".cls.data", align 16
@pointers = constant [2 x ptr] [ptr @counter, ptr getelementptr inbounds ([4 x i32], ptr @table, i64 0, i64 1)], align 16
; CHECK: @tentative = weak global i64 0, section ".cls.bss", align 8
@tentative = common global i64 0, align 8
; CHECK: @plain = constant [2 x i32] [i32 5, i32 6]
@plain = constant [2 x i32] [i32 5, i32 6]
; CHECK: @per_thread = thread_local global i32 0
@per_thread = thread_local global i32 0
@external = external global i32

; CHECK-LABEL: define i32 @sum(i64 %n, i1 %c)
; CHECK-NEXT:  entry:
; CHECK-NEXT:    %slot = alloca i32, align 4
; CHECK-NEXT:    %table.cls = call ptr @__cls_get_addr(ptr @table)
; CHECK-NEXT:    %counter.cls = call ptr @__cls_get_addr(ptr @counter)
; CHECK-NEXT:    %external.cls = call ptr @__cls_get_addr(ptr @external)
; CHECK-NEXT:    %pointers.cls = call ptr @__cls_get_addr(ptr @pointers)
; CHECK-NEXT:    [[T2:%[0-9]+]] = getelementptr inbounds [4 x i32], ptr %table.cls, i64 0, i64 2
; CHECK-NEXT:    %first = load i32, ptr [[T2]], align 4
; CHECK-NEXT:    br label %loop
; CHECK:       loop:
; CHECK-NOT:     @__cls_get_addr
; CHECK:         %p = getelementptr [4 x i32], ptr %table.cls, i64 0, i64 %i
; CHECK:         store i32 %s1, ptr %counter.cls
; CHECK:       exit:
; CHECK-NEXT:    [[T1:%[0-9]+]] = getelementptr inbounds [4 x i32], ptr %table.cls, i64 0, i64 1
; CHECK-NEXT:    br i1 %c, label %join, label %other
; CHECK:       join:
; CHECK-NEXT:    %which = phi ptr [ [[T1]], %exit ], [ %external.cls, %other ]
; CHECK-NEXT:    %chosen = load ptr, ptr %pointers.cls
; CHECK-NEXT:    %unchanged = load i32, ptr getelementptr inbounds ([2 x i32], ptr @plain, i64 0, i64 1)
; CHECK-NEXT:    %tls = load i32, ptr @per_thread
define i32 @sum(i64 %n, i1 %c) {
entry:
  %slot = alloca i32, align 4
  %first = load i32, ptr getelementptr inbounds ([4 x i32], ptr @table, i64 0, i64 2), align 4
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i1, %loop ]
  %p = getelementptr [4 x i32], ptr @table, i64 0, i64 %i
  %v = load i32, ptr %p
  %s = load i32, ptr @counter
  %s1 = add i32 %s, %v
  store i32 %s1, ptr @counter
  %i1 = add i64 %i, 1
  %done = icmp eq i64 %i1, %n
  br i1 %done, label %exit, label %loop
exit:
  br i1 %c, label %join, label %other
other:
  br label %join
join:
  %which = phi ptr [ getelementptr inbounds ([4 x i32], ptr @table, i64 0, i64 1), %exit ], [ @external, %other ]
  %chosen = load ptr, ptr @pointers
  %unchanged = load i32, ptr getelementptr inbounds ([2 x i32], ptr @plain, i64 0, i64 1)
  %tls = load i32, ptr @per_thread
  %w = load i32, ptr %which
  %r = add i32 %w, %first
  ret i32 %r
}

; CHECK-LABEL: define i64 @untouched(i64 %x)
; CHECK-NEXT:    ret i64 %x
define i64 @untouched(i64 %x) {
  ret i64 %x
}

; CHECK: declare ptr @__cls_get_addr(ptr) #[[ATTRS:[0-9]+]]
; CHECK: attributes #[[ATTRS]] = { nounwind willreturn memory(none) }
