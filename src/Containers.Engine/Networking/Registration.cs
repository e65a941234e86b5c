using System.Runtime.CompilerServices;

namespace Containers.Engine.Networking;

/// <summary>Registers the bridge provider with the runtime when the engine assembly loads.</summary>
internal static class NetworkRegistration
{
#pragma warning disable CA2255 // a module initializer in a library is the point here: no cmdlet has to remember to register
    [ModuleInitializer]
    internal static void Register() => Runtime.ContainerRuntime.NetworkProvider ??= AnyRootNetworkProvider.Instance;
#pragma warning restore CA2255
}
