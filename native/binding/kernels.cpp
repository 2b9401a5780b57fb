// placeholder: replaced by the kernel API binding
#include "exports.h"
namespace hl::binding {
void register_kernel_exports(Napi::Env, Napi::Object) {}
}
