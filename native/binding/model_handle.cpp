// placeholder: replaced by the model binding
#include "exports.h"
namespace hl::binding {
void register_model_exports(Napi::Env, Napi::Object) {}
}
