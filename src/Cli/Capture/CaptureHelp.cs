namespace KdtCapture.Cli.Capture;

internal static class CaptureHelp
{
    public const string Text =
        """
        Usage: kdt capture [-i interface]... [-pU] [--immediate-mode] [-B KiB] [-Q in|out|inout]
                           [-y linktype] [-s snaplen] [-c count] [-w file [-C size] [-G s] [-W n]]
                           [printing options] [-F file | expression]
               kdt capture -D | -L [-i interface]...
               kdt capture -r file [-w file [--pcap] [-C size] [-G seconds] [-W count] [-U]]
                           [-c count] [--count] [-nqeSKl#] [-t...] [-v...] [-x|-X|-A...]
                           [--nano] [-F file | expression]
               kdt capture [-d|-dd|-ddd] [-O] [-y linktype | -i interface | -r file]
                           [-s snaplen] [-F file | expression]

        Captures packets on network interfaces (through libpcap, the filter compiled by kdt and
        run in the kernel) or reads a capture file, and prints or writes the packets that match
        a pcap-filter(7) expression, as tcpdump does; or compiles the expression to classic BPF
        and prints it as tcpdump -d/-dd/-ddd does. kdt capture takes tcpdump's options (and
        parses them as tcpdump does: -nn, -s0, --snap=0, "ip -d"), so alias tcpdump='kdt capture'
        works.

        Live capture (root, or CAP_NET_RAW and CAP_NET_ADMIN):
          -i IF                capture on IF: a name from -D, its number, or "any"
                               (LINUX_SLL2); repeat -i to capture on several interfaces
                               into one pcapng file (one interface block each). Without
                               -i: the first interface -D lists
          -D, --list-interfaces
                               list interfaces as tcpdump does, then kdt's kernel tap kinds
                               and whether this kernel supports them
          -L                   list the link types of each -i (on stderr, as tcpdump)
          -J                   list the time stamp types of -i (on stderr, as tcpdump)
          -p                   not in promiscuous mode
          -I                   monitor mode (Wi-Fi)      -j TYPE  time stamp type (see -J)
          -f                   print addresses outside -i's network as numbers
          -Z USER              become USER once the interfaces are open (the output file
                               is created as USER); not with kernel taps
          -B KiB               kernel buffer size (default 2 MiB)
          -Q in|out|inout      only packets received / sent / both
          --pid PID, --comm NAME, --cgroup PATH, --netns PATH|NAME|INODE
                               at kernel taps, only packets of that process (and its
                               threads), task name, cgroup v2 subtree or network
                               namespace, selected in the kernel: sent ones belong to the
                               sender, received ones to the owner of the receiving socket.
                               Without -i: tp_btf/net_dev_queue and tp_btf/netif_receive_skb
          -- COMMAND ARGS...   run COMMAND in a cgroup of its own and capture only its
                               process tree's packets; stop when it exits, with its exit code
              --immediate-mode deliver packets at once instead of in blocks
          -y LT                the link type to capture with (see -L)
        Kernel taps (root; -i beside interfaces, several at once, globs allowed):
          -i fentry/FUNC, fexit/FUNC, kprobe/FUNC, tp_btf/TP, raw_tp/TP
                               capture inside the kernel where FUNC or TP sees an skb;
                               each frame's pcapng comment names the tap and process
              --track-skb      follow the skb of every packet the filter matches to every
                               other tap until it is freed, even after NAT or tunnels
                               changed its headers (such frames end their comment with
                               "track"); printed, a line is: time tap skb process summary
              --drop-reason LIST
                               at tp_btf/kfree_skb (a dropwatch: frames carry the kernel's
                               drop reason and where it dropped), keep only these reasons
                               (NO_SOCKET,TCP_CSUM) or leave these out (-NOT_SPECIFIED: the
                               drops whose code gives no reason); decided in the kernel
        At the end: packets captured, received by filter, dropped by kernel (and by kdt when
        its output could not keep up) on stderr, as tcpdump reports them.

        Reading and writing files:
          -r FILE              read pcap or pcapng, plain or gzip/LZ4-compressed (found
                               from the content); "-" is stdin. A pcapng file may hold
                               several link types: the filter is compiled for each
          -V LIST              read each capture file named in LIST (one per line) in
                               turn, as -r reads one; -c counts per file, as tcpdump
          -w FILE              write the matching packets instead of printing them:
                               pcapng (interfaces, comments and flags kept), classic
                               pcap for a .pcap name or --pcap, LZ4 for a .lz4 name;
                               "-" is stdout. Files are created with mode 0600
              --pcap           write classic pcap (kdt's own option)
          -c N                 stop after N matching packets
              --count          print only the number of matching packets
          -C N                 start a new file once one exceeds N million bytes
          -G N                 start a new file every N seconds (FILE is strftime'd)
          -W N                 with -C: a ring of N files; with -G: stop after N files
          -U                   flush the output after every packet
          -z CMD               run "CMD FILE" (at the lowest priority, not waited for)
                               on each file -C/-G closes, e.g. -z gzip
              --print          print the packets too while writing them with -w
        Printing:
          -n                   do not resolve addresses and ports to names
          -t, -tt, -ttt, -tttt, -ttttt
                               no time / Unix seconds / delta / date / since first
              --nano, --micro, --time-stamp-precision=nano|micro
          -e                   print the link-layer header      -q  print less
          -v, -vv, -vvv        print more (pcapng comments with -v)
          -x, -xx, -X, -XX, -A, -AA
                               hex (and ASCII) of each packet (doubled: with link header)
          -#                   number the packets     -S  absolute TCP sequence numbers
          -K                   do not verify checksums -l  flush after every line
          -N                   host names without their domain
          -T TYPE              decode UDP payloads as TYPE whatever their ports: rtp, vat,
                               domain, vxlan, ptp decoded; rtcp, snmp, tftp, radius, ...
                               summarised; resp/domain for TCP, carp for IP protocol 112
          -M SECRET            check TCP MD5 signature options (RFC 2385) with SECRET
          -E SPI@ADDR ALGO:SECRET[,...] | ALGO:SECRET | 'file NAME'
                               decrypt ESP (aes128/192/256, des, 3des; -cbc, -hmac96 as
                               tcpdump) and print what it carries
          -m, -b, -H, -u       accepted; kdt says on stderr why they change nothing here
        Compiling:
          -d                   print the filter as readable instructions and stop
          -dd                  print it as a C array initializer
          -ddd                 print it as decimal numbers, the count first
          -O, --no-optimize    do not optimize the filter
          -y, --linktype LT    compile for link type LT, e.g. EN10MB, RAW, IPV4, IPV6,
                               LINUX_SLL, LINUX_SLL2, NULL, LOOP, PPP, IEEE802_11,
                               IEEE802_11_RADIO (any case); without -y, -i or -r: Ethernet
          -i, --interface IF   compile for the link type a capture on IF delivers
                               (lo, eth0: EN10MB; tun: RAW; any: LINUX_SLL2)
          -s, --snapshot-length N
                               bytes an accepting filter keeps (0 or default: 262144;
                               with -r the file's snapshot length counts)
          -F FILE              read the expression from FILE; '#' starts a comment
                               that runs to the end of the line; an expression on the
                               command line is then ignored
          -h, --help           show this help
              --version        show kdt's version
        The expression is the remaining arguments joined by spaces; "--" ends the options.
        Errors are one line on stderr with tcpdump's and libpcap's wording; exit status 1.
        SIGINT or SIGTERM stops cleanly: written files are complete, with statistics.

        Examples:
          kdt capture -i eth0 -n 'tcp port 443'
          kdt capture -i lo -i eth0 -w both.pcapng -C 100 udp
          kdt capture -D
          kdt capture -n -r trace.pcapng 'tcp port 80'
          kdt capture -r trace.pcap -w web.pcapng 'tcp port 80 or tcp port 443'
          kdt capture -r trace.pcapng -w - | wireshark -k -i -
          kdt capture -r big.pcap -w part.pcapng.lz4 -C 100
          kdt capture --count -r trace.pcap icmp
          kdt capture -d 'tcp port 443'
          kdt capture -dd -y raw 'udp and dst port 53'
          kdt capture -ddd -O 'host 192.0.2.1 and not port 22'
          kdt capture -i any -d 'icmp or icmp6'
          kdt capture -i 'tp_btf/*skb*' -i tp_btf/net_dev_queue --track-skb -n icmp
          kdt capture -i tp_btf/kfree_skb --drop-reason -NOT_SPECIFIED -w drops.pcapng

        """;
}
