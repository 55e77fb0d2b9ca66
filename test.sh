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

# The guest suite: the tests that need fentry, fexit, kprobes or modules (trait Kernel=guest; they
# skip on this machine's kernel) run in one boot of the VM guest (tests/vm), where they must pass.
# KDT_GUEST_SUITE=0 leaves it out; where no guest can be booted it is skipped, saying why.
guest_note=""
if [[ "${KDT_GUEST_SUITE:-1}" == 0 ]]; then
    guest_note="guest: not run (KDT_GUEST_SUITE=0)"
else
    say "running the guest suite (tests/vm/guest-suite): kernel-dependent tests in the VM guest"
    guest_start=$SECONDS
    # The guest builds no modules: the test livepatches are built here against its kernel's
    # headers (cached; the host suite's hotfix tests usually did it already). 77: they skip.
    tests/vm/build-livepatch >/dev/null || true
    tests/vm/guest-suite --results "$results/guest" --timeout 1800 ${KDT_CORPORA:+-e KDT_CORPORA} ${KDT_BINARY:+-e KDT_BINARY}
    guest_status=$?
    guest_seconds=$((SECONDS - guest_start))
    case "$guest_status" in
    0 | 1) ;; # the reports say what passed and failed
    77) guest_note="guest: not run, the VM guest cannot be booted here (tests/vm/run --check says why)" ;;
    *)
        say "the guest suite failed (exit $guest_status: 124 timeout, 125 the guest failed): counted as one failure"
        crashed=$((crashed + 1)) ;;
    esac
fi

# Count from the reports: per test, its result; and list skips with their reasons. A test that
# skipped here and ran in the guest is counted once, with its guest result (a failure in either
# place is a failure); the guest's own counts are printed on a line of their own.
summary="$(perl -e '
    my ($pass, $fail, $skip) = (0, 0, 0);
    my (%host, %skipped, @guest, @errors);
    sub unescape { my $s = shift; $s =~ s/&quot;/"/g; $s =~ s/&apos;/\x27/g; $s =~ s/&lt;/</g; $s =~ s/&gt;/>/g; $s =~ s/&amp;/&/g; $s }
    sub tests { # FILE -> ([name, result, reason]...), errors counted
        my $file = shift; my @tests;
        local $/; open(my $fh, "<", $file) or return (); my $xml = <$fh>;
        while ($xml =~ /<test\s([^>]*?)(\/>|>(.*?)<\/test>)/sg) {
            my ($attrs, $body) = ($1, $3 // "");
            my ($result) = $attrs =~ /\bresult="([^"]*)"/;
            my ($name) = $attrs =~ /\bname="([^"]*)"/;
            my ($reason) = $body =~ /<reason><!\[CDATA\[(.*?)\]\]><\/reason>/s;
            $reason //= "(no reason given)"; $reason =~ s/\s+/ /g;
            push @tests, [unescape($name), $result, $reason];
        }
        # Failures outside any test (a fixture or the runner itself) count too.
        while ($xml =~ /<error\s([^>]*)>/sg) {
            my $attrs = $1; my ($name) = $attrs =~ /\bname="([^"]*)"/; my ($type) = $attrs =~ /\btype="([^"]*)"/;
            push @errors, unescape($name // $type // "unknown");
        }
        return @tests;
    }
    my $guest_dir = shift @ARGV;
    for my $file (@ARGV) {
        my ($project) = $file =~ m{([^/]+)\.xml$};
        for my $t (tests($file)) {
            my ($name, $result, $reason) = @$t;
            $host{"$project\0$name"} = $result;
            if ($result eq "Pass") { $pass++ }
            elsif ($result eq "Skip") { $skip++; $skipped{"$project\0$name"} = $reason }
            else { $fail++ }
        }
    }
    my ($gpass, $gfail, $gskip, $replaced) = (0, 0, 0, 0);
    for my $file (glob("$guest_dir/*.xml")) {
        my ($project) = $file =~ m{([^/]+)\.xml$};
        for my $t (tests($file)) {
            my ($name, $result, $reason) = @$t;
            my $key = "$project\0$name";
            my $here = $host{$key} // "";
            if ($result eq "Pass") { $gpass++ } elsif ($result eq "Skip") { $gskip++ } else { $gfail++ }
            print STDERR "guest: failed: $name\n" if $result ne "Pass" && $result ne "Skip";
            print STDERR "guest: skipped: $name: $reason\n" if $result eq "Skip";
            if ($here eq "Skip") {
                # counted once: the guest result replaces the skip here
                $replaced++; $skip--; delete $skipped{$key};
                if ($result eq "Pass") { $pass++ } elsif ($result eq "Skip") { $skip++ } else { $fail++ }
            } elsif ($here eq "") {
                if ($result eq "Pass") { $pass++ } elsif ($result eq "Skip") { $skip++ } else { $fail++ }
            } elsif ($here eq "Pass" && $result ne "Pass" && $result ne "Skip") {
                $pass--; $fail++;
            }
        }
    }
    for my $key (sort keys %skipped) { my ($p, $n) = split /\0/, $key; print STDERR "skipped: $n: $skipped{$key}\n" }
    print STDERR "error: $_\n" for @errors;
    $fail += @errors;
    print "$pass $fail $skip $gpass $gfail $gskip $replaced\n";
' "$results/guest" "$results"/*.xml)"
read -r passed failed skipped guest_passed guest_failed guest_skipped guest_replaced <<<"$summary"
failed=$((failed + crashed))
if [[ -z "$guest_note" && -n "${guest_seconds:-}" ]]; then
    guest_note="guest: $guest_passed passed, $guest_failed failed, $guest_skipped skipped in ${guest_seconds} s (in the totals below: $guest_replaced of them skip here and are counted once, with their guest result)"
fi
[[ -n "$guest_note" ]] && echo "$guest_note"

status=0
((failed == 0)) || status=1
((passed + failed > 0)) || { say "no test ran"; status=1; }
finish "$passed" "$failed" "$skipped" "$status"
