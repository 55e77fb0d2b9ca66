using System.Globalization;
using System.Text;
using KdtCapture.Bpf.Symbols;

namespace KdtCapture.Toolkit.Ftrace;

/// <summary>
/// Prints trace.dat records as `trace-cmd report` does by default: "COMM-PID [CPU] SECS.USECS:
/// EVENT: FIELDS", with the instance name first for instance buffers, the event's print format
/// evaluated, and sched_switch as trace-cmd's sched plugin shows it.
/// </summary>
public static class TraceReport
{
    public static void WriteHeader(TextWriter output, TraceDat dat) => output.WriteLine($"cpus={dat.CpuCount}");

    /// <summary>The whole report: "cpus=N", then every record in time order.</summary>
    public static void Write(TextWriter output, TraceDat dat)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(dat);
        WriteHeader(output, dat);
        bool afterLost = false;
        foreach (var item in dat.Records())
        {
            // trace-cmd prints the lost-events note as the start of the next record's output,
            // so that record's line comes without the instance name.
            string line = item is TraceRecord record && afterLost ? Line(dat, record with { Buffer = null }) : Line(dat, item);
            afterLost = item is LostEvents;
            output.WriteLine(line);
        }
    }

    public static string Line(TraceDat dat, object item)
    {
        var sb = new StringBuilder(160);
        switch (item)
        {
            case LostEvents lost:
                if (lost.Buffer is not null)
                    sb.Append(lost.Buffer).Append(": ");
                sb.Append(CultureInfo.InvariantCulture, $"CPU:{lost.Cpu} ");
                sb.Append(lost.Count >= 0 ? string.Create(CultureInfo.InvariantCulture, $"[{lost.Count} EVENTS DROPPED]") : "[EVENTS DROPPED]");
                return sb.ToString();
            case TraceRecord record:
                Append(sb, dat, record);
                return sb.ToString();
            default:
                throw new ArgumentException("not a record", nameof(item));
        }
    }

    private static void Append(StringBuilder sb, TraceDat dat, TraceRecord record)
    {
        if (record.Buffer is not null)
            sb.Append(record.Buffer).Append(": ");
        int pid = record.Pid;
        string comm = pid == 0 ? "<idle>" : dat.CommandLines.TryGetValue(pid, out var c) ? c : "<...>";
        // Microseconds rounded to nearest, as libtraceevent prints them.
        ulong micros = (record.Timestamp + 500) / 1000;
        ulong secs = micros / 1_000_000, usecs = micros % 1_000_000;
        sb.Append(CultureInfo.InvariantCulture, $"{comm,16}-{pid,-5} [{record.Cpu:000}] {secs,5}.{usecs:000000}: ");
        if (record.Format is not { } format)
        {
            sb.Append(CultureInfo.InvariantCulture, $"[UNKNOWN TYPE {record.Type}]");
            return;
        }
        sb.Append(CultureInfo.InvariantCulture, $"{format.Name + ":",-21} ");
        // trace-cmd's plugins print these events their own way.
        switch (format.System, format.Name)
        {
            case ("sched", "sched_switch") when SchedSwitch(sb, format, record.Data, dat.CommandLines):
                return;
            case ("sched", "sched_wakeup" or "sched_wakeup_new") when SchedWakeup(sb, format, record.Data, dat.CommandLines):
                return;
            case ("ftrace", "function") when Function(sb, format, record, dat):
                return;
            case ("timer", "hrtimer_start") when HrtimerStart(sb, format, record.Data, dat.Symbols):
                return;
            case ("timer", "hrtimer_expire_entry") when HrtimerExpireEntry(sb, format, record.Data, dat.Symbols):
                return;
            case ("kmem", "kmalloc" or "kmalloc_node" or "kfree" or "kmem_cache_alloc" or "kmem_cache_alloc_node" or "kmem_cache_free"):
                CallSite(sb, format, record.Data, dat.Symbols);
                break;
        }
        var print = format.Print;
        if (print.IsParsed)
        {
            int mark = sb.Length;
            try
            {
                print.Format(sb, format, record.Data, dat.Symbols, dat.PrintkStrings);
                return;
            }
            catch (FormatException)
            {
                sb.Length = mark;
            }
        }
        sb.Append("[FAILED TO PARSE]");
        foreach (var field in format.Fields)
        {
            sb.Append(' ').Append(field.Name).Append('=');
            if (field.IsString)
                sb.Append(field.Text(record.Data));
            else if (field.IsArray || field.IsDataLoc || field.IsRelLoc)
                sb.Append("ARRAY[").Append(string.Join(", ", field.Bytes(record.Data).ToArray().Select(b => b.ToString("x2", CultureInfo.InvariantCulture)))).Append(']');
            else
                sb.Append(field.Integer(record.Data).ToString(CultureInfo.InvariantCulture));
        }
    }

    /// <summary>
    /// Learns the command name of a pid the saved command lines lacked, as trace-cmd's sched
    /// plugin does while printing: later records of that pid show it instead of "&lt;...&gt;".
    /// </summary>
    private static string Remember(Dictionary<int, string> comms, string comm, long pid)
    {
        comms.TryAdd((int)pid, comm);
        return comm;
    }

    /// <summary>"COMM:PID [PRIO] CPU:NNN" (with " failure" where the kernel still reports success=0).</summary>
    private static bool SchedWakeup(StringBuilder sb, EventFormat format, ReadOnlySpan<byte> data, Dictionary<int, string> comms)
    {
        var comm = format.Field("comm");
        var pid = format.Field("pid");
        var prio = format.Field("prio");
        var cpu = format.Field("target_cpu");
        if (comm is null || pid is null || prio is null || cpu is null)
            return false;
        sb.Append(CultureInfo.InvariantCulture, $"{Remember(comms, comm.Text(data), pid.Integer(data))}:{pid.Integer(data)} [{prio.Integer(data)}]");
        if (format.Field("success") is { } success && success.Integer(data) == 0)
            sb.Append(" failure");
        sb.Append(CultureInfo.InvariantCulture, $" CPU:{cpu.Integer(data):000}");
        return true;
    }

    /// <summary>"hrtimer=0xADDR function=SYMBOL/0xOFFSET expires=NS softexpires=NS", as the hrtimer plugin prints it.</summary>
    private static bool HrtimerStart(StringBuilder sb, EventFormat format, ReadOnlySpan<byte> data, KernelSymbols? symbols)
    {
        var timer = format.Field("hrtimer");
        var function = format.Field("function");
        var expires = format.Field("expires");
        var soft = format.Field("softexpires");
        if (timer is null || function is null || expires is null || soft is null)
            return false;
        ulong address = (ulong)function.Integer(data);
        sb.Append(CultureInfo.InvariantCulture, $"hrtimer=0x{(ulong)timer.Integer(data):x} function=");
        if (symbols?.TryResolve(address, out string name, out ulong offset) == true)
            sb.Append(CultureInfo.InvariantCulture, $"{name}/0x{offset:x}");
        else
            sb.Append(CultureInfo.InvariantCulture, $"0x{address:x}");
        sb.Append(CultureInfo.InvariantCulture, $" expires={(ulong)expires.Integer(data)} softexpires={(ulong)soft.Integer(data)}");
        return true;
    }

    /// <summary>
    /// The function tracer's event as trace-cmd's function plugin prints it: the function's name,
    /// indented three spaces per level of the calls seen so far on that CPU (a parent found in
    /// the CPU's stack of names puts the child one below it; an unknown parent starts over).
    /// </summary>
    private static bool Function(StringBuilder sb, EventFormat format, TraceRecord record, TraceDat dat)
    {
        var ip = format.Field("ip");
        var parentIp = format.Field("parent_ip");
        if (ip is null || parentIp is null)
            return false;
        string? function = Symbol(dat.Symbols, (ulong)ip.Integer(record.Data));
        string? parent = Symbol(dat.Symbols, (ulong)parentIp.Integer(record.Data));
        int index = 0;
        if (parent is not null)
        {
            if (!dat.FunctionStacks.TryGetValue(record.Cpu, out var stack))
                dat.FunctionStacks[record.Cpu] = stack = [];
            index = -1;
            for (int i = 0; i < stack.Count && stack[i] is not null; i++)
            {
                if (stack[i] == parent)
                {
                    SetAt(stack, i + 1, function);
                    index = i;
                    break;
                }
            }
            if (index < 0)
            {
                SetAt(stack, 0, parent);
                SetAt(stack, 1, function);
                index = 0;
            }
        }
        sb.Append(' ', index * 3);
        sb.Append(function ?? string.Create(CultureInfo.InvariantCulture, $"0x{(ulong)ip.Integer(record.Data):x}"));
        return true;
    }

    private static void SetAt(List<string?> stack, int position, string? name)
    {
        if (name is null)
            return;
        while (stack.Count <= position)
            stack.Add(null);
        stack[position] = name;
    }

    private static string? Symbol(KernelSymbols? symbols, ulong address)
        => symbols?.TryResolve(address, out string name, out _) == true ? name : null;

    /// <summary>"hrtimer=0xADDR now=NS function=SYMBOL/0xOFFSET", as the hrtimer plugin prints it.</summary>
    private static bool HrtimerExpireEntry(StringBuilder sb, EventFormat format, ReadOnlySpan<byte> data, KernelSymbols? symbols)
    {
        var timer = format.Field("hrtimer");
        var now = format.Field("now");
        var function = format.Field("function");
        if (timer is null || now is null || function is null)
            return false;
        sb.Append(CultureInfo.InvariantCulture, $"hrtimer=0x{(ulong)timer.Integer(data):x} now={(ulong)now.Integer(data)} function=");
        Function(sb, (ulong)function.Integer(data), symbols);
        return true;
    }

    private static void Function(StringBuilder sb, ulong address, KernelSymbols? symbols)
    {
        if (symbols?.TryResolve(address, out string name, out ulong offset) == true)
            sb.Append(CultureInfo.InvariantCulture, $"{name}/0x{offset:x}");
        else
            sb.Append(CultureInfo.InvariantCulture, $"0x{address:x}");
    }

    /// <summary>The kmem plugin's "(SYMBOL+0xOFFSET) " before the event's own text.</summary>
    private static void CallSite(StringBuilder sb, EventFormat format, ReadOnlySpan<byte> data, KernelSymbols? symbols)
    {
        if (format.Field("call_site") is { } site && symbols?.TryResolve((ulong)site.Integer(data), out string name, out ulong offset) == true)
            sb.Append(CultureInfo.InvariantCulture, $"({name}+0x{offset:x}) ");
    }

    /// <summary>"prev:PID [PRIO] STATE ==> next:PID [PRIO]", as libtraceevent's sched_switch plugin prints it.</summary>
    private static bool SchedSwitch(StringBuilder sb, EventFormat format, ReadOnlySpan<byte> data, Dictionary<int, string> comms)
    {
        var prevComm = format.Field("prev_comm");
        var prevPid = format.Field("prev_pid");
        var prevPrio = format.Field("prev_prio");
        var prevState = format.Field("prev_state");
        var nextComm = format.Field("next_comm");
        var nextPid = format.Field("next_pid");
        var nextPrio = format.Field("next_prio");
        if (prevComm is null || prevPid is null || prevPrio is null || prevState is null || nextComm is null || nextPid is null || nextPrio is null)
            return false;
        sb.Append(CultureInfo.InvariantCulture, $"{Remember(comms, prevComm.Text(data), prevPid.Integer(data))}:{prevPid.Integer(data)} [{prevPrio.Integer(data)}] ");
        long state = prevState.Integer(data);
        // The letters of libtraceevent's sched_switch plugin (older kernels' state bits), which trace-cmd report prints.
        const string states = "SDTtZXxW";
        bool found = false;
        for (int i = 0; i < states.Length; i++)
        {
            if ((state & (1L << i)) == 0)
                continue;
            if (found)
                sb.Append('|');
            found = true;
            sb.Append(states[i]);
        }
        if (!found)
            sb.Append('R');
        sb.Append(CultureInfo.InvariantCulture, $" ==> {Remember(comms, nextComm.Text(data), nextPid.Integer(data))}:{nextPid.Integer(data)} [{nextPrio.Integer(data)}]");
        return true;
    }
}
