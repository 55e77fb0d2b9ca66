namespace KdtCapture.Cli.Capture;

internal static class CaptureHelp
{
    public const string Text =
        """
        Usage: kdt capture [-d|-dd|-ddd] [-O] [-y linktype | -i interface] [-s snaplen]
                           [-F file | expression]

        Compiles a pcap-filter(7) expression to classic BPF and prints the program exactly
        as tcpdump -d/-dd/-ddd does. kdt capture takes tcpdump's options (and parses them
        as tcpdump does: -nn, -s0, --snap=0, "ip -d"), so alias tcpdump='kdt capture' works.
        This build compiles filters only; live capture and -r come in a later version.

        Options:
          -d                   print the filter as readable instructions and stop
          -dd                  print it as a C array initializer
          -ddd                 print it as decimal numbers, the count first
          -O, --no-optimize    do not optimize the filter
          -y, --linktype LT    compile for link type LT, e.g. EN10MB, RAW, IPV4, IPV6,
                               LINUX_SLL, LINUX_SLL2, NULL, LOOP, PPP, IEEE802_11,
                               IEEE802_11_RADIO (any case); without -y or -i: Ethernet
          -i, --interface IF   compile for the link type a capture on IF delivers
                               (lo, eth0: EN10MB; tun: RAW; any: LINUX_SLL2)
          -s, --snapshot-length N
                               bytes an accepting filter keeps (0 or default: 262144)
          -F FILE              read the expression from FILE; '#' starts a comment
                               that runs to the end of the line; an expression on the
                               command line is then ignored
          -h, --help           show this help
              --version        show kdt's version
        The expression is the remaining arguments joined by spaces; "--" ends the options.
        Errors are one line on stderr with libpcap's wording; exit status 1.

        Examples:
          kdt capture -d 'tcp port 443'
          kdt capture -dd -y raw 'udp and dst port 53'
          kdt capture -ddd -O 'host 192.0.2.1 and not port 22'
          kdt capture -i any -d 'icmp or icmp6'
          kdt capture -y ieee802_11_radio -d 'type mgt subtype beacon'
          kdt capture -s 96 -d -F filter.txt

        """;
}
