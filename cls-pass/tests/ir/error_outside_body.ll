; Prefix data referring to CLS data is outside any instruction: refused.
; EXPECT-FAILURE

@g = global i32 0

; CHECK: cls-pass: error: function `with_prefix` refers to global `g` outside its body (prefix data, prologue data or personality); cls-pass cannot rewrite that
define void @with_prefix() prefix i32* @g {
  ret void
}
