; A writable global with an explicit section that is not a CLS section is refused.
; EXPECT-FAILURE

; CHECK: cls-pass: error: global `in_my_section` is writable but has the explicit section `.mydata`; {{.*}}remove the section attribute, make the global `const`, or name a section that starts with `.cls`
@in_my_section = global i32 1, section ".mydata"
; Sections that start with .cls are kept.
@already_cls = global i32 1, section ".cls.data.hot"

define i32 @read() {
  %a = load i32, i32* @in_my_section
  %b = load i32, i32* @already_cls
  %r = add i32 %a, %b
  ret i32 %r
}
