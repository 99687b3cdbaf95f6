; The pass is idempotent: a second run finds only template addresses handed to
; __cls_get_addr and changes nothing (one call per global, not two).
; PASSES: cls,cls

@g = global i32 5

; CHECK: @g = global i32 5, section ".cls.data"
; CHECK-LABEL: define i32 @get()
; CHECK-NEXT:    %g.cls.raw = call i8* @__cls_get_addr(i8* bitcast (i32* @g to i8*))
; CHECK-NEXT:    %g.cls = bitcast i8* %g.cls.raw to i32*
; CHECK-NEXT:    %v = load i32, i32* %g.cls
; CHECK-NEXT:    ret i32 %v
; CHECK: declare i8* @__cls_get_addr(i8*) #[[A:[0-9]+]]
; CHECK-NOT: declare
; CHECK: attributes #[[A]] = { nounwind readnone willreturn }
define i32 @get() {
  %v = load i32, i32* @g
  ret i32 %v
}
