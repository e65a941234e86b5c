using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Containers.Engine.State;

/// <summary>
/// Compile-time JSON metadata (System.Text.Json source generation) for the records a start, a run and a removal
/// read and write: a container's config.json, an image's record and its names, a layer's layer.json, volume and
/// network records, the root's settings. Without it the first (de)serialisation of each type in a process built its metadata by
/// reflection and emitted IL accessors for every property, which the JIT then compiled: several hundred methods
/// and most of the first Invoke-ContainerImage of a session (docs/ARCHITECTURE.md, "Cold start").
/// The generated code is precompiled with the rest of the assembly (ReadyToRun).
/// <see cref="Json.Options"/> resolves these types here and anything else by reflection as before; the options
/// (naming, nulls, enums as strings) are those of <see cref="Json.Options"/>, so the bytes written are the same.
/// </summary>
[JsonSerializable(typeof(Runtime.ContainerConfig), TypeInfoPropertyName = "RuntimeContainerConfig")]
[JsonSerializable(typeof(Images.ImageStore.ImageMeta))]
[JsonSerializable(typeof(Images.ImageStore.Repositories))]
[JsonSerializable(typeof(Snapshots.LayerInfo))]
[JsonSerializable(typeof(Volumes.VolumeStore.VolumeRecord))]
[JsonSerializable(typeof(Networking.NetworkRecord))]
[JsonSerializable(typeof(Networking.ContainerNetRecord))]
// read by every run when the root has one (the root's default user namespace: the root warning, the creation)
[JsonSerializable(typeof(UserNamespaces.HostSettings))]
internal sealed partial class StateJsonContext : JsonSerializerContext
{
    /// <summary>These types from here, any other by reflection.</summary>
    public static IJsonTypeInfoResolver WithReflectionFallback() => JsonTypeInfoResolver.Combine(Default, new DefaultJsonTypeInfoResolver());
}

/// <summary>
/// The same for the OCI documents of <see cref="Spec.SpecJson.Options"/> that every run reads (the image's
/// configuration, its manifest) or that import and build write.
/// </summary>
[JsonSerializable(typeof(Spec.ImageConfig))]
[JsonSerializable(typeof(Spec.ContainerConfig), TypeInfoPropertyName = "SpecContainerConfig")]
[JsonSerializable(typeof(Spec.ImageManifest))]
[JsonSerializable(typeof(Spec.ImageIndex))]
internal sealed partial class SpecJsonContext : JsonSerializerContext
{
    /// <summary>These types from here, any other by reflection.</summary>
    public static IJsonTypeInfoResolver WithReflectionFallback() => JsonTypeInfoResolver.Combine(Default, new DefaultJsonTypeInfoResolver());
}
