using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Containers.Native.Sys;

/// <summary>copy_file_range(2): a file's bytes copied by the kernel, between two open descriptors (no path resolved).</summary>
internal static partial class CopyRange
{
    [LibraryImport("libc", EntryPoint = "copy_file_range", SetLastError = true)]
    private static partial nint copy_file_range_(SafeFileHandle fdIn, nint offIn, SafeFileHandle fdOut, nint offOut, nuint len, uint flags);

    /// <summary>
    /// Copies from the descriptors' positions until the source's end. False, with nothing copied, where the kernel
    /// or the file systems cannot (the caller copies through user space then); a failure after the first bytes throws.
    /// </summary>
    public static bool TryCopyAll(SafeFileHandle src, SafeFileHandle dst, string? what = null)
    {
        bool first = true;
        while (true)
        {
            nint n = copy_file_range_(src, 0, dst, 0, 1 << 30, 0);
            if (n > 0) { first = false; continue; }
            if (n == 0) return true;
            int e = Marshal.GetLastPInvokeError();
            if (e == Errno.EINTR) continue;
            if (first && e is Errno.EXDEV or Errno.ENOSYS or Errno.EINVAL or Errno.EOPNOTSUPP or Errno.EBADF) return false;
            throw new NativeException("copy_file_range", e, what);
        }
    }
}
