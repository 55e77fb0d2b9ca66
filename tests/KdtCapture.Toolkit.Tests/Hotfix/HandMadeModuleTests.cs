using System.Runtime.InteropServices;
using KdtCapture.Toolkit.Hotfix;

namespace KdtCapture.Toolkit.Tests.Hotfix;

/// <summary>
/// The decoder on objects made here by gcc from C written for each case, with no kernel headers:
/// livepatch structures whose internal parts differ in size from any kernel's (the decoder must
/// not depend on the strides), several objects with sympos and callbacks, a decoy structure
/// that also starts with THIS_MODULE, kpatch-build's .kpatch.funcs table and .klp.sym symbols.
/// </summary>
public sealed class HandMadeModuleTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kdh-elf-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string Common = """
        struct module { int state; char list[20]; char name[56]; };
        __attribute__((section(".gnu.linkonce.this_module"))) struct module __this_module = { .name = "handmade" };
        #define MODINFO(tag, text) __attribute__((section(".modinfo"), used, aligned(1))) static const char tag[] = text
        MODINFO(info_license, "license=GPL");
        MODINFO(info_livepatch, "livepatch=Y");
        MODINFO(info_depends, "depends=ext4,jbd2");
        MODINFO(info_note, "note=a=b");
        MODINFO(info_vermagic, "vermagic=6.1.0-9-amd64 SMP preempt mod_unload modversions ");

        """;

    private string Compile(string name, string source)
    {
        if (RuntimeInformation.ProcessArchitecture != Architecture.X64)
            Assert.Skip("the hand-made objects are compiled for this machine, and the tests expect x86-64");
        string gcc = HotfixTools.ToolOrSkip("gcc", "gcc");
        string c = Path.Combine(_dir, name + ".c"), o = Path.Combine(_dir, name + ".ko");
        File.WriteAllText(c, Common + source);
        var r = HotfixTools.Run(gcc, ["-c", "-O2", "-fno-ipa-icf", "-fno-pic", "-mcmodel=kernel", "-o", o, c], TimeSpan.FromMinutes(2));
        Assert.True(r.ExitCode == 0, r.Stderr);
        return o;
    }

    [Fact]
    public void KlpStructuresWithOtherStridesAndSeveralObjects()
    {
        string path = Compile("strides", """
            struct klp_func { const char *old_name; void *new_func; unsigned long old_sympos; void *internal[23]; char flags[5]; };
            struct klp_callbacks { int (*pre_patch)(void *); void (*post_patch)(void *); void (*pre_unpatch)(void *); void (*post_unpatch)(void *); };
            struct klp_object { const char *name; struct klp_func *funcs; struct klp_callbacks callbacks; void *internal[7]; };
            struct klp_patch { struct module *mod; struct klp_object *objs; void *states; _Bool replace; };
            struct file_operations { struct module *owner; long (*llseek)(void); };

            int new_schedule(void) { return 1; }
            int new_dup(void) { return 2; }
            int new_ext4(void) { return 3; }
            int pre_patch(void *o) { return 4; }
            long seek(void) { return 5; }

            static struct klp_func vmlinux_funcs[] = {
                { .old_name = "schedule_timeout", .new_func = new_schedule },
                { .old_name = "dup_name", .new_func = new_dup, .old_sympos = 2 },
                { }
            };
            static struct klp_func ext4_funcs[] = { { .old_name = "ext4_readdir", .new_func = new_ext4 }, { } };
            static struct klp_object objs[] = {
                { .funcs = vmlinux_funcs, .callbacks = { .pre_patch = pre_patch } },
                { .name = "ext4", .funcs = ext4_funcs },
                { }
            };
            __attribute__((used)) static struct file_operations decoy = { .owner = &__this_module, .llseek = seek };
            __attribute__((used)) static struct klp_patch patch = { .mod = &__this_module, .objs = objs };
            """);
        var module = PatchModule.Read(path);
        Assert.Equal("handmade", module.Name);
        Assert.Equal("klp_patch", module.PatchFormat);
        Assert.Equal(2, module.Objects.Count);
        Assert.Null(module.Objects[0].Name);
        Assert.Equal([new PatchedFunction("schedule_timeout", 0, "new_schedule"), new PatchedFunction("dup_name", 2, "new_dup")], module.Objects[0].Functions);
        Assert.Equal("ext4", module.Objects[1].Name);
        Assert.Equal([new PatchedFunction("ext4_readdir", 0, "new_ext4")], module.Objects[1].Functions);
        Assert.Equal(["ext4", "jbd2"], module.Depends);
        Assert.Equal("a=b", module.Field("note"));
        Assert.True(module.IsLivepatch);
    }

    [Fact]
    public void KpatchFuncsTableAndKlpSymbols()
    {
        string path = Compile("kpatch", """
            struct kpatch_patch_func { unsigned long new_addr, new_size, old_addr, old_size, sympos; const char *name, *objname; };
            int patched_a(void) { return 1; }
            int patched_b(void) { return 2; }
            __attribute__((section(".kpatch.funcs"), used)) static struct kpatch_patch_func funcs[] = {
                { (unsigned long)patched_a, 0, 0, 0, 0, "tcp_sendmsg", "vmlinux" },
                { (unsigned long)patched_b, 0, 0, 0, 3, "nfsd_open", "nfsd" },
            };
            extern int klp_ref __asm__("\".klp.sym.vmlinux.saved_command_line,0\"");
            __attribute__((used)) static int *ref = &klp_ref;
            """);
        var module = PatchModule.Read(path);
        Assert.Equal("kpatch.funcs", module.PatchFormat);
        Assert.Equal(2, module.Objects.Count);
        Assert.Null(module.Objects[0].Name);
        Assert.Equal([new PatchedFunction("tcp_sendmsg", 0, "patched_a")], module.Objects[0].Functions);
        Assert.Equal("nfsd", module.Objects[1].Name);
        Assert.Equal([new PatchedFunction("nfsd_open", 3, "patched_b")], module.Objects[1].Functions);
        Assert.Equal(["vmlinux saved_command_line,0"], module.KlpSymbols);
    }

    [Fact]
    public void AModuleWithoutPatchDataHasNoObjects()
    {
        string path = Compile("plain", "int plain(void) { return 0; }\n");
        var module = PatchModule.Read(path);
        Assert.Empty(module.Objects);
        Assert.Null(module.PatchFormat);
        Assert.Equal(VerMagic.Parse("6.1.0-9-amd64 SMP preempt mod_unload modversions"), VerMagic.Parse(module.VerMagic!));
    }
}
