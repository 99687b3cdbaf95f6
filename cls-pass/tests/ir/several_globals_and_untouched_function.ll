; One call per (function, global): several globals in one function, each used several
; times, and a global used by two functions gets a call in each. A function that uses
; no CLS global is left exactly as it was.

@a = global i32 1
@b = global i32 2
@c = global i32 3

; CHECK-LABEL: define i32 @all()
; CHECK-NEXT:    %a.cls.raw = call i8* @__cls_get_addr(i8* bitcast (i32* @a to i8*))
; CHECK-NEXT:    %a.cls = bitcast i8* %a.cls.raw to i32*
; CHECK-NEXT:    %b.cls.raw = call i8* @__cls_get_addr(i8* bitcast (i32* @b to i8*))
; CHECK-NEXT:    %b.cls = bitcast i8* %b.cls.raw to i32*
; CHECK-NEXT:    %c.cls.raw = call i8* @__cls_get_addr(i8* bitcast (i32* @c to i8*))
; CHECK-NEXT:    %c.cls = bitcast i8* %c.cls.raw to i32*
; CHECK-NOT:     @__cls_get_addr
; CHECK:         ret i32
define i32 @all() {
  %x = load i32, i32* @a
  %y = load i32, i32* @b
  %z = load i32, i32* @c
  store i32 %z, i32* @a
  store i32 %x, i32* @b
  store i32 %y, i32* @c
  %s = add i32 %x, %y
  %t = add i32 %s, %z
  ret i32 %t
}

; CHECK-LABEL: define i32 @pure(i32 %x, i32 %y)
; CHECK-NEXT:    %s = mul i32 %x, %y
; CHECK-NEXT:    ret i32 %s
define i32 @pure(i32 %x, i32 %y) {
  %s = mul i32 %x, %y
  ret i32 %s
}

; CHECK-LABEL: define i32 @again()
; CHECK-NEXT:    %a.cls.raw = call i8* @__cls_get_addr(i8* bitcast (i32* @a to i8*))
define i32 @again() {
  %x = load i32, i32* @a
  ret i32 %x
}
