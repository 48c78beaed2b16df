// SPDX-License-Identifier: GPL-2.0
/* The policy file: JSON, every field's syntax, validation, then the compiler. */
#include "compile.h"
#include "fuzz.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tw_policy *p = NULL;
	struct tw_diags d = {};
	struct tw_tables t;
	int err;

	err = tw_policy_parse("fuzz.json", (const char *)data, size, &p, &d);
	FZ_CHECK(err ? !p && d.count > 0 : p != NULL, "an error comes with a message, success with a policy");
	if (!err && !tw_compile(p, &t, &d))
		tw_tables_free(&t);
	tw_policy_free(p);
	tw_diags_free(&d);
	return 0;
}
