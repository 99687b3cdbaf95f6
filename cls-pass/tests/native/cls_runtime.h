/* The test runtime's interface (see cls_runtime.c). */
#ifndef CLS_RUNTIME_H
#define CLS_RUNTIME_H

#include <stddef.h>

#define CLS_INSTANCES 4
/* cls_instance_of: the address lies in a template, not in an instance. */
#define CLS_TEMPLATE (-1)
/* cls_instance_of: the address lies in no template and no instance. */
#define CLS_ELSEWHERE (-2)

void *__cls_get_addr(const void *template_address);
/* Makes `instance` (0 .. CLS_INSTANCES-1) the current one. */
void cls_set_instance(int instance);
/* Which instance holds `address`, or CLS_TEMPLATE / CLS_ELSEWHERE. */
int cls_instance_of(const void *address);
/* How many template sections the loaded objects have. */
int cls_template_count(void);
/* How many relocation sites lie inside templates. */
size_t cls_relocation_count(void);

#endif
