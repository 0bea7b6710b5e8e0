/* SPDX-License-Identifier: GPL-2.0 */
#ifndef MKVM_NOTIFIER_H
#define MKVM_NOTIFIER_H

struct mkvm_vm;

int mkvm_notifier_register(struct mkvm_vm *vm);
void mkvm_notifier_unregister(struct mkvm_vm *vm);
void mkvm_memslots_wait_invalidations(struct mkvm_vm *vm,
				      void (*publish)(struct mkvm_vm *vm));

#endif /* MKVM_NOTIFIER_H */
