using System.Globalization;
using System.Text;

namespace KdtCapture.PcapNg.Internal;

/// <summary>C's strftime in the "C" locale, for tcpdump-style <c>-G</c> file names.</summary>
internal static class Strftime
{
    private static readonly string[] Days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
    private static readonly string[] Months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

    public static string Format(string format, DateTimeOffset t)
    {
        var s = new StringBuilder(format.Length + 16);
        for (int i = 0; i < format.Length; i++)
        {
            char c = format[i];
            if (c != '%' || i + 1 >= format.Length)
            {
                s.Append(c);
                continue;
            }
            char k = format[++i];
            // glibc flags and widths are rare in file names; accept and ignore the E and O modifiers.
            if ((k == 'E' || k == 'O') && i + 1 < format.Length) k = format[++i];
            Append(s, k, t);
        }
        return s.ToString();
    }

    private static void D2(StringBuilder s, int v) => s.Append(v.ToString("D2", CultureInfo.InvariantCulture));

    private static void Append(StringBuilder s, char k, DateTimeOffset t)
    {
        var inv = CultureInfo.InvariantCulture;
        int hour12 = t.Hour % 12 == 0 ? 12 : t.Hour % 12;
        switch (k)
        {
            case 'a': s.Append(Days[(int)t.DayOfWeek], 0, 3); break;
            case 'A': s.Append(Days[(int)t.DayOfWeek]); break;
            case 'b': case 'h': s.Append(Months[t.Month - 1], 0, 3); break;
            case 'B': s.Append(Months[t.Month - 1]); break;
            case 'c': Append(s, 'a', t); s.Append(' '); Append(s, 'b', t); s.Append(' '); Append(s, 'e', t); s.Append(' '); Append(s, 'T', t); s.Append(' '); Append(s, 'Y', t); break;
            case 'C': D2(s, t.Year / 100); break;
            case 'd': D2(s, t.Day); break;
            case 'D': Append(s, 'm', t); s.Append('/'); Append(s, 'd', t); s.Append('/'); Append(s, 'y', t); break;
            case 'e': s.Append(t.Day.ToString(inv).PadLeft(2)); break;
            case 'F': Append(s, 'Y', t); s.Append('-'); Append(s, 'm', t); s.Append('-'); Append(s, 'd', t); break;
            case 'g': D2(s, ISOWeek.GetYear(t.DateTime) % 100); break;
            case 'G': s.Append(ISOWeek.GetYear(t.DateTime).ToString(inv)); break;
            case 'H': D2(s, t.Hour); break;
            case 'I': D2(s, hour12); break;
            case 'j': s.Append(t.DayOfYear.ToString("D3", inv)); break;
            case 'k': s.Append(t.Hour.ToString(inv).PadLeft(2)); break;
            case 'l': s.Append(hour12.ToString(inv).PadLeft(2)); break;
            case 'm': D2(s, t.Month); break;
            case 'M': D2(s, t.Minute); break;
            case 'n': s.Append('\n'); break;
            case 'p': s.Append(t.Hour < 12 ? "AM" : "PM"); break;
            case 'P': s.Append(t.Hour < 12 ? "am" : "pm"); break;
            case 'r': Append(s, 'I', t); s.Append(':'); Append(s, 'M', t); s.Append(':'); Append(s, 'S', t); s.Append(' '); Append(s, 'p', t); break;
            case 'R': Append(s, 'H', t); s.Append(':'); Append(s, 'M', t); break;
            case 's': s.Append(t.ToUnixTimeSeconds().ToString(inv)); break;
            case 'S': D2(s, t.Second); break;
            case 't': s.Append('\t'); break;
            case 'T': Append(s, 'H', t); s.Append(':'); Append(s, 'M', t); s.Append(':'); Append(s, 'S', t); break;
            case 'u': s.Append(t.DayOfWeek == DayOfWeek.Sunday ? '7' : (char)('0' + (int)t.DayOfWeek)); break;
            case 'U': D2(s, (t.DayOfYear + 6 - (int)t.DayOfWeek) / 7); break;
            case 'V': D2(s, ISOWeek.GetWeekOfYear(t.DateTime)); break;
            case 'w': s.Append((char)('0' + (int)t.DayOfWeek)); break;
            case 'W': D2(s, (t.DayOfYear + 6 - ((int)t.DayOfWeek + 6) % 7) / 7); break;
            case 'x': Append(s, 'D', t); break;
            case 'X': Append(s, 'T', t); break;
            case 'y': D2(s, t.Year % 100); break;
            case 'Y': s.Append(t.Year.ToString(inv)); break;
            case 'z':
            {
                TimeSpan o = t.Offset;
                s.Append(o < TimeSpan.Zero ? '-' : '+');
                o = o.Duration();
                D2(s, o.Hours);
                D2(s, o.Minutes);
                break;
            }
            case 'Z': s.Append(t.Offset == TimeSpan.Zero ? "UTC" : ZoneAbbreviation(t)); break;
            case '%': s.Append('%'); break;
            default: s.Append('%').Append(k); break;
        }
    }

    private static string ZoneAbbreviation(DateTimeOffset t)
    {
        // .NET has no zone abbreviations; the numeric offset is unambiguous in a file name.
        TimeSpan o = t.Offset.Duration();
        return (t.Offset < TimeSpan.Zero ? "-" : "+") + o.Hours.ToString("D2", CultureInfo.InvariantCulture) + o.Minutes.ToString("D2", CultureInfo.InvariantCulture);
    }
}
