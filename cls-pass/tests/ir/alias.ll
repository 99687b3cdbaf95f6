; An alias into CLS data (musl's weak_alias(__environ, environ) pattern, or a field)
; is itself a CLS symbol: its uses go through __cls_get_addr(@alias), which maps the
; template address like any other. Aliases of functions are left alone.

@__environ = global i8** null
; CHECK: @environ = weak alias i8**, i8*** @__environ
@environ = weak alias i8**, i8*** @__environ
@pair = global { i32, i32 } zeroinitializer
; CHECK: @second = alias i32, getelementptr inbounds ({ i32, i32 }, { i32, i32 }* @pair, i32 0, i32 1)
@second = alias i32, getelementptr inbounds ({ i32, i32 }, { i32, i32 }* @pair, i32 0, i32 1)
; CHECK: @entry_alias = alias void (), void ()* @entry
@entry_alias = alias void (), void ()* @entry

define void @entry() {
  ret void
}

; CHECK-LABEL: define i32 @use()
; CHECK-NEXT:    %environ.cls.raw = call i8* @__cls_get_addr(i8* bitcast (i8*** @environ to i8*))
; CHECK-NEXT:    %environ.cls = bitcast i8* %environ.cls.raw to i8***
; CHECK-NEXT:    %second.cls.raw = call i8* @__cls_get_addr(i8* bitcast (i32* @second to i8*))
; CHECK-NEXT:    %second.cls = bitcast i8* %second.cls.raw to i32*
; CHECK-NEXT:    %e = load i8**, i8*** %environ.cls
; CHECK-NEXT:    %s = load i32, i32* %second.cls
; CHECK-NEXT:    call void @entry_alias()
define i32 @use() {
  %e = load i8**, i8*** @environ
  %s = load i32, i32* @second
  call void @entry_alias()
  ret i32 %s
}
