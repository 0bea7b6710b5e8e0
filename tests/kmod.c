// SPDX-License-Identifier: GPL-2.0
/*
 * Loading and unloading through libkmod, the way tools and users do: the
 * module refuses to go while any of its fds is open, loads and unloads
 * cleanly over many cycles, and its modinfo tells the truth.
 * Expects mkvm loaded on entry ($MKVM_KO names the .ko) and leaves it loaded.
 */
#include <fcntl.h>
#include <libkmod.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/mkvm_util.h"
#include "lib/tap.h"

static void ensure_loaded(void)
{
	if (!mkvm_module_loaded())
		ASSERT_EQ(mkvm_module_load(NULL), 0);
	ASSERT_TRUE(mkvm_module_loaded());
}

/* With no fd open the module unloads, /dev/mkvm goes, and it loads again. */
TEST(unload_and_reload)
{
	struct stat st;

	ensure_loaded();
	ASSERT_EQ(mkvm_module_unload(), 0);
	ASSERT_TRUE(!mkvm_module_loaded());
	ASSERT_ERRNO(stat(MKVM_DEV, &st), ENOENT);
	ASSERT_EQ(mkvm_module_unload(), -ENOENT);
	ASSERT_EQ(mkvm_module_load(NULL), 0);
	ASSERT_OK(stat(MKVM_DEV, &st));
	ASSERT_TRUE(S_ISCHR(st.st_mode));
}

/* Loading a loaded module is EEXIST. */
TEST(double_load_eexist)
{
	ensure_loaded();
	ASSERT_EQ(mkvm_module_load(NULL), -EEXIST);
	ASSERT_TRUE(mkvm_module_loaded());
}

/* Any open fd (device, VM, or only a vCPU) pins the module: delete_module() says
 * EWOULDBLOCK, as libkmod never waits for a busy module. */
TEST(unload_busy_while_fds_open)
{
	int dev, vm, vcpu;

	ensure_loaded();
	dev = mkvm_open();
	ASSERT_EQ(mkvm_module_unload(), -EWOULDBLOCK);
	vm = ASSERT_OK(ioctl(dev, MKVM_CREATE_VM, 0));
	close(dev);
	ASSERT_EQ(mkvm_module_unload(), -EWOULDBLOCK);
	vcpu = ASSERT_OK(ioctl(vm, MKVM_CREATE_VCPU, 0));
	close(vm);
	ASSERT_EQ(mkvm_module_unload(), -EWOULDBLOCK);
	close(vcpu);
	ASSERT_EQ(mkvm_module_unload(), 0);
	ASSERT_EQ(mkvm_module_load(NULL), 0);
}

/* An open debugfs file pins the module too. */
TEST(unload_busy_while_debugfs_open)
{
	int fd;

	ensure_loaded();
	fd = ASSERT_OK(open(MKVM_DEBUGFS "/stats", O_RDONLY));
	ASSERT_EQ(mkvm_module_unload(), -EWOULDBLOCK);
	close(fd);
	ASSERT_EQ(mkvm_module_unload(), 0);
	ASSERT_EQ(mkvm_module_load(NULL), 0);
}

/*
 * Twenty-five load, open, create, close, unload cycles. Each load of a test
 * build runs the in-module self-tests: slow under TCG on arm64.
 */
TEST_T(load_use_unload_cycles, 300)
{
	char *mem = mkvm_map_anon(PAGE_SIZE);
	int i;

	ensure_loaded();
	ASSERT_EQ(mkvm_module_unload(), 0);
	for (i = 0; i < 25; i++) {
		int dev, vm, vcpu;

		ASSERT_EQ(mkvm_module_load(NULL), 0);
		dev = mkvm_open();
		vm = ASSERT_OK(ioctl(dev, MKVM_CREATE_VM, 0));
		vcpu = ASSERT_OK(ioctl(vm, MKVM_CREATE_VCPU, i % 16));
		ASSERT_OK(mkvm_set_region(vm, 0, 0, 0, PAGE_SIZE, mem));
		ASSERT_EQ(mkvm_stat(MKVM_DEBUGFS "/stats", "vms_created"), 1);
		close(vcpu);
		close(vm);
		close(dev);
		mkvm_assert_no_objects();
		ASSERT_EQ(mkvm_module_unload(), 0);
	}
	ASSERT_EQ(mkvm_module_load(NULL), 0);
}

static const char *modinfo_value(struct kmod_list *info, const char *key)
{
	struct kmod_list *l;

	kmod_list_foreach(l, info)
		if (!strcmp(kmod_module_info_get_key(l), key))
			return kmod_module_info_get_value(l);
	return NULL;
}

/* modinfo: GPL, a description, and the version dkms.conf declares. */
TEST(modinfo_is_truthful)
{
	const char *path = getenv("MKVM_KO"), *want = getenv("MKVM_VERSION");
	struct kmod_ctx *ctx = kmod_new(NULL, NULL);
	struct kmod_list *info = NULL;
	struct kmod_module *mod;
	const char *v;

	if (!want)
		tap_skip("MKVM_VERSION not set");
	ASSERT_TRUE(ctx);
	ASSERT_EQ(kmod_module_new_from_path(ctx, path ? path : "./mkvm.ko", &mod), 0);
	ASSERT_TRUE(kmod_module_get_info(mod, &info) > 0);
	v = modinfo_value(info, "license");
	ASSERT_TRUE(v && !strcmp(v, "GPL"));
	v = modinfo_value(info, "version");
	ASSERT_TRUE(v && !strcmp(v, want));
	ASSERT_TRUE(modinfo_value(info, "description"));
	ASSERT_TRUE(modinfo_value(info, "mkvm_build"));
	kmod_module_info_free_list(info);
	kmod_module_unref(mod);
	kmod_unref(ctx);
}

int main(int argc, char **argv)
{
	return tap_main(argc, argv);
}
