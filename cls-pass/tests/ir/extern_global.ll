; An external writable global (defined in another object) gets no section here, but
; its uses still go through __cls_get_addr. An i8 global needs no casts.

; CHECK: @shared_count = external global i32, align 4
@shared_count = external global i32, align 4
; CHECK: @flag = external global i8
@flag = external global i8
; An extern *constant* without pointers is left alone (see extern_pointer_constant.ll).
; CHECK: @limits = external constant [2 x i32]
@limits = external constant [2 x i32]

; CHECK-LABEL: define i32 @read()
; CHECK-NEXT:    %shared_count.cls.raw = call i8* @__cls_get_addr(i8* bitcast (i32* @shared_count to i8*))
; CHECK-NEXT:    %shared_count.cls = bitcast i8* %shared_count.cls.raw to i32*
; CHECK-NEXT:    %flag.cls = call i8* @__cls_get_addr(i8* @flag)
; CHECK-NEXT:    %v = load i32, i32* %shared_count.cls
; CHECK-NEXT:    store i8 1, i8* %flag.cls
; CHECK-NEXT:    %l = load i32, i32* getelementptr inbounds ([2 x i32], [2 x i32]* @limits, i64 0, i64 1)
define i32 @read() {
  %v = load i32, i32* @shared_count
  store i8 1, i8* @flag
  %l = load i32, i32* getelementptr inbounds ([2 x i32], [2 x i32]* @limits, i64 0, i64 1)
  %r = add i32 %v, %l
  ret i32 %r
}
