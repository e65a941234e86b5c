namespace Containers.Engine.Spec;

/// <summary>Media types of the OCI image spec and Docker's schema 2 that the store understands.</summary>
public static class MediaTypes
{
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string OciConfig = "application/vnd.oci.image.config.v1+json";
    public const string OciLayer = "application/vnd.oci.image.layer.v1.tar";
    public const string OciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
    public const string OciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
    public const string OciLayerNonDistributable = "application/vnd.oci.image.layer.nondistributable.v1.tar";
    public const string OciLayerNonDistributableGzip = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
    public const string OciLayerNonDistributableZstd = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
    public const string OciEmpty = "application/vnd.oci.empty.v1+json";

    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string DockerManifestV1 = "application/vnd.docker.distribution.manifest.v1+json";
    public const string DockerManifestV1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws";
    public const string DockerConfig = "application/vnd.docker.container.image.v1+json";
    public const string DockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    public const string DockerLayer = "application/vnd.docker.image.rootfs.diff.tar";
    public const string DockerForeignLayerGzip = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

    public static bool IsManifest(string? mt) => mt is OciManifest or DockerManifest;
    public static bool IsIndex(string? mt) => mt is OciIndex or DockerManifestList;
    public static bool IsConfig(string? mt) => mt is OciConfig or DockerConfig;

    /// <summary>How a layer blob of this media type is compressed; null when it is not a layer type we can unpack.</summary>
    public static LayerCompression? LayerCompressionOf(string? mt) => mt switch
    {
        OciLayer or DockerLayer or OciLayerNonDistributable => LayerCompression.None,
        OciLayerGzip or DockerLayerGzip or OciLayerNonDistributableGzip or DockerForeignLayerGzip => LayerCompression.Gzip,
        OciLayerZstd or OciLayerNonDistributableZstd => LayerCompression.Zstd,
        _ => null,
    };

    /// <summary>The Docker media type equivalent of an OCI layer type (for docker-archive export).</summary>
    public static string ToDockerLayer(string mt) => LayerCompressionOf(mt) switch
    {
        LayerCompression.Gzip => DockerLayerGzip,
        _ => DockerLayer,
    };
}

/// <summary>The compression of a layer blob.</summary>
public enum LayerCompression
{
    None,
    Gzip,
    Zstd,
    /// <summary>Detect from the first bytes.</summary>
    Auto,
}
