// SPDX-License-Identifier: GPL-2.0
/*
 * mkvm-modctl: load or unload mkvm through libkmod, for the guest's init.
 *   mkvm-modctl load [PARAMS]   insert $MKVM_KO
 *   mkvm-modctl unload          remove mkvm (fails while it is in use)
 *   mkvm-modctl loaded          exit 0 if mkvm is loaded
 */
#include <stdio.h>
#include <string.h>

#include "mkvm_util.h"

int main(int argc, char **argv)
{
	int r;

	if (argc >= 2 && !strcmp(argv[1], "load"))
		r = mkvm_module_load(argc > 2 ? argv[2] : NULL);
	else if (argc == 2 && !strcmp(argv[1], "unload"))
		r = mkvm_module_unload();
	else if (argc == 2 && !strcmp(argv[1], "loaded"))
		return !mkvm_module_loaded();
	else {
		fprintf(stderr, "usage: %s load [PARAMS] | unload | loaded\n", argv[0]);
		return 2;
	}
	if (r) {
		fprintf(stderr, "mkvm-modctl %s: %s\n", argv[1], strerror(-r));
		return 1;
	}
	return 0;
}
