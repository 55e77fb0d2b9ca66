#!/usr/bin/env bash
# Builds the solution and runs every test project, then prints the skipped tests with their
# reasons and one closing line "N passed, N failed, N skipped" counted from the test
# runners' own XML reports. Exits non-zero if the build or any test failed.
# Run as root on a fresh Debian 12 machine it first installs what the tests need.
set -uo pipefail

root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
cd "$root"
results="$root/.build/test-results"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# tcpdump/libpcap are the oracles, tshark reads what we write, clang/llvm build BPF
# programs and link the Native AOT kdt (with zlib).
apt_packages=(tcpdump libpcap0.8 libpcap0.8-dev tshark clang llvm zlib1g-dev bpftool dwarves trace-cmd)

say() { echo "test.sh: $*" >&2; }

finish() { # passed failed skipped exit-code
    echo "$1 passed, $2 failed, $3 skipped"
    exit "$4"
}

install_missing_packages() {
    if [[ "$(id -u)" != 0 ]]; then
        say "not root: not installing packages; tests that need missing tools will be skipped"
        return 0
    fi
    command -v dpkg-query >/dev/null 2>&1 || return 0
    local missing=() p
    for p in "${apt_packages[@]}"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
    done
    ((${#missing[@]})) || return 0
    say "installing ${missing[*]}"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"; then
        apt-get update -q || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" ||
            say "warning: could not install ${missing[*]}"
    fi
}

install_missing_packages

if ! command -v dotnet >/dev/null 2>&1; then
    say "the .NET 10 SDK (dotnet) is not installed"
    finish 0 0 0 1
fi

say "restoring and building KdtCapture.sln (Release)"
if ! dotnet restore KdtCapture.sln || ! dotnet build KdtCapture.sln -c Release --no-restore; then
    say "the build failed; no tests were run"
    finish 0 0 0 1
fi

# The shared capture corpora sit beside the repository (../shared/corpora); every test project
# finds them through KDT_CORPORA, and tests that need them skip, saying so, when they are absent.
if [[ -z "${KDT_CORPORA:-}" ]]; then
    for candidate in "$root/../shared/corpora" /work/shared/corpora; do
        if [[ -d "$candidate/tcpdump-tests" ]]; then
            KDT_CORPORA="$(cd "$candidate" && pwd)"
            export KDT_CORPORA
            break
        fi
    done
fi
say "capture corpora: ${KDT_CORPORA:-not found (corpus tests will skip)}"

# The CLI tests run the kdt that users run: the one ./kdt builds (Native AOT when possible).
if ./kdt --version >/dev/null; then
    export KDT_BINARY="$root/.build/kdt/kdt"
    say "kdt under test: $KDT_BINARY ($(cat "$root/.build/kdt.mode" 2>/dev/null || echo unknown build))"
else
    say "warning: ./kdt could not build kdt; the CLI tests will try again and report why"
fi

rm -rf "$results"
mkdir -p "$results"
mapfile -t projects < <(find tests -name '*.Tests.csproj' -not -path '*/bin/*' -not -path '*/obj/*' | sort)
if ((${#projects[@]} == 0)); then
    say "no test projects under tests/"
    finish 0 0 0 1
fi

crashed=0
for project in "${projects[@]}"; do
    name="$(basename "$project" .csproj)"
    target="$(dotnet msbuild "$project" -nologo -getProperty:TargetPath -p:Configuration=Release 2>/dev/null | tail -n 1)"
    apphost="${target%.dll}"
    say "running $name"
    # xunit.v3 test projects are executables; run directly they use xunit's own runner,
    # whose XML report carries every result and skip reason.
    runner=("$apphost")
    [[ -x "$apphost" ]] || runner=(dotnet "$target")
    timeout --kill-after=30s 45m "${runner[@]}" -noColor -xml "$results/$name.xml" -trx "$results/$name.trx"
    status=$?
    if [[ ! -s "$results/$name.xml" ]]; then
        say "$name produced no results (exit $status): counted as one failure"
        crashed=$((crashed + 1))
    fi
done

# Count from the reports: per test, its result; and list skips with their reasons.
summary="$(perl -e '
    my ($pass, $fail, $skip) = (0, 0, 0);
    sub unescape { my $s = shift; $s =~ s/&quot;/"/g; $s =~ s/&apos;/\x27/g; $s =~ s/&lt;/</g; $s =~ s/&gt;/>/g; $s =~ s/&amp;/&/g; $s }
    for my $file (@ARGV) {
        local $/; open(my $fh, "<", $file) or next; my $xml = <$fh>;
        while ($xml =~ /<test\s([^>]*?)(\/>|>(.*?)<\/test>)/sg) {
            my ($attrs, $body) = ($1, $3 // "");
            my ($result) = $attrs =~ /\bresult="([^"]*)"/;
            my ($name) = $attrs =~ /\bname="([^"]*)"/;
            if ($result eq "Pass") { $pass++ }
            elsif ($result eq "Skip") {
                $skip++;
                my ($reason) = $body =~ /<reason><!\[CDATA\[(.*?)\]\]><\/reason>/s;
                $reason //= "(no reason given)"; $reason =~ s/\s+/ /g;
                print STDERR "skipped: ", unescape($name), ": $reason\n";
            }
            else { $fail++ }
        }
        # Failures outside any test (a fixture or the runner itself) count too.
        while ($xml =~ /<error\s([^>]*)>/sg) {
            my $attrs = $1; my ($name) = $attrs =~ /\bname="([^"]*)"/; my ($type) = $attrs =~ /\btype="([^"]*)"/;
            $fail++; print STDERR "error: ", unescape($name // $type // "unknown"), "\n";
        }
    }
    print "$pass $fail $skip\n";
' "$results"/*.xml)"
read -r passed failed skipped <<<"$summary"
failed=$((failed + crashed))

status=0
((failed == 0)) || status=1
((passed + failed > 0)) || { say "no test ran"; status=1; }
finish "$passed" "$failed" "$skipped" "$status"
