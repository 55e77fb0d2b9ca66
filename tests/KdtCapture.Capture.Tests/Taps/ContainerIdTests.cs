using KdtCapture.Capture.Taps;

namespace KdtCapture.Capture.Tests.Taps;

/// <summary>Container IDs from cgroup v2 paths in the shapes the runtimes make (as /proc/PID/cgroup shows them).</summary>
public sealed class ContainerIdTests
{
    private const string Id = "3f1e2d4c5b6a79880123456789abcdef0123456789abcdef0123456789abcdef";

    [Theory]
    // docker, systemd cgroup driver and cgroupfs driver
    [InlineData("/system.slice/docker-" + Id + ".scope", Id)]
    [InlineData("/docker/" + Id, Id)]
    // containerd through CRI (kubelet, systemd driver), and the cgroupfs layout of a pod
    [InlineData("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0f9c1b2a_4d3e_4c5b_8a79_123456789abc.slice/cri-containerd-" + Id + ".scope", Id)]
    [InlineData("/kubepods/besteffort/pod0f9c1b2a-4d3e-4c5b-8a79-123456789abc/" + Id, Id)]
    // CRI-O
    [InlineData("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podabc.slice/crio-" + Id + ".scope", Id)]
    // podman: rootful systemd, rootless under the user's slice (with the container's own sub-cgroup), cgroupfs
    [InlineData("/machine.slice/libpod-" + Id + ".scope", Id)]
    [InlineData("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + Id + ".scope/container", Id)]
    [InlineData("/libpod_parent/libpod-" + Id, Id)]
    // a systemd-nspawn machine: its scope names it (systemd escapes '-' as \x2d)
    [InlineData("/machine.slice/machine-web\\x2d01.scope", "web-01")]
    [InlineData("/machine.slice/machine-db.scope/payload", "db")]
    public void Runtime_paths_name_their_container(string path, string expected) =>
        Assert.Equal(expected, ContainerId.FromCgroupPath(path));

    [Theory]
    [InlineData("/")]
    [InlineData("/user.slice/user-1000.slice/session-3.scope")]
    [InlineData("/system.slice/sshd.service")]
    [InlineData("/system.slice/docker.service")]
    [InlineData("/system.slice/docker-3f1e2d4c.scope")] // not 64 hex digits
    [InlineData("/kdt-capture-1234")]
    [InlineData("/docker/" + "3F1E2D4C5B6A79880123456789ABCDEF0123456789ABCDEF0123456789ABCDEF")] // runtimes write lower case
    public void Other_paths_name_none(string path) => Assert.Null(ContainerId.FromCgroupPath(path));

    [Fact]
    public void This_process_is_in_no_container_unless_its_cgroup_says_so()
    {
        string line = File.ReadLines("/proc/self/cgroup").FirstOrDefault(l => l.StartsWith("0::", StringComparison.Ordinal)) ?? "0::/";
        Assert.Equal(ContainerId.FromCgroupPath(line[3..]), ContainerId.OfProcess((uint)Environment.ProcessId));
    }
}
