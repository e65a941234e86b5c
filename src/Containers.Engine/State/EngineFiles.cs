namespace Containers.Engine.State;

/// <summary>Where the engine's own shipped files are: the helper executable sits beside the engine DLL.</summary>
public static class EngineFiles
{
    public static string ModuleDirectory => Path.GetDirectoryName(typeof(EngineFiles).Assembly.Location) ?? AppContext.BaseDirectory;

    /// <summary>The NativeAOT helper that clones into namespaces and supervises containers.</summary>
    public static string HelperPath
    {
        get
        {
            string? env = Environment.GetEnvironmentVariable("PSCONTAINERS_HELPER");
            return string.IsNullOrEmpty(env) ? Path.Combine(ModuleDirectory, "containers-helper") : env;
        }
    }
}
