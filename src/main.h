/* SPDX-License-Identifier: GPL-2.0 */
#ifndef MKVM_MAIN_H
#define MKVM_MAIN_H

long mkvm_check_extension(unsigned long cap);

#endif /* MKVM_MAIN_H */
