using Containers.Engine.Build;
using Containers.Engine.Errors;
using Containers.Engine.Spec;

namespace Containers.Engine.Images;

public sealed partial class ImageStore
{
    /// <summary>
    /// Test-ContainerStore's look at the build recipes (the store kind Recipes) (recipes/&lt;manifest hex&gt;.json): one that does not parse is
    /// an Error (RecipeRecordCorrupt; -Repair moves it aside, and the image stays: it is only no longer updatable from
    /// its recipe); one whose image is gone is Garbage (RecipeUnreferenced; -Repair deletes it, but not while an image
    /// record is unreadable or set aside, since it may be that image's). A recipe references no blob or layer, so it
    /// never keeps or frees anything the garbage collection decides on.
    /// </summary>
    public List<StoreProblem> CheckRecipes(bool repair)
    {
        var found = new List<StoreProblem>();
        var recipes = new RecipeStore(Root);
        var keys = new HashSet<string>(StringComparer.Ordinal);
        var unreadable = new List<string>();
        foreach (var m in AllMetaQuiet()) keys.Add(Key(m.Meta));
        foreach (var f in Directory.Exists(Root.Sub("images")) ? Directory.EnumerateFiles(Root.Sub("images")) : [])
        {
            string n = Path.GetFileName(f);
            if (n.Length < 69 || !Digest.IsLowerHex(n.AsSpan(0, 64)) || !n[64..].StartsWith(".json", StringComparison.Ordinal)) continue;
            if (n.Length > 69) { unreadable.Add(f); continue; } // set aside (.corrupt-*)
            try { ReadMetaFile(f); }
            catch (ContainersException ex) when (ex.Kind == ErrorKind.Corrupt) { unreadable.Add(f); }
        }
        foreach (var (digest, path) in recipes.Files().ToList())
        {
            BuildRecipe? r = null;
            bool corrupt = false;
            try { r = recipes.TryRead(digest); }
            catch (ContainersException ex) when (ex.Kind == ErrorKind.Corrupt) { corrupt = true; }
            if (corrupt)
            {
                bool moved = repair && SetAside(path);
                found.Add(new StoreProblem
                {
                    Kind = RecipeStore.CorruptErrorId, Severity = "Error", Target = path, Repaired = moved,
                    Message = moved ? $"The build recipe does not parse; it was moved aside to '{Path.GetFileName(path)}.corrupt-*'. Its image stays, but Update-ContainerImage can only -Rebase it."
                                    : "The build recipe does not parse; Update-ContainerImage cannot rebuild its image from it. -Repair moves it aside (the image stays).",
                });
                continue;
            }
            if (r is null || keys.Contains(digest)) continue;
            // a build may have registered its image (and then written this recipe) since the records were read
            try { if (ReadMetaByKey(digest) is not null) continue; }
            catch (ContainersException ex) when (ex.Kind == ErrorKind.Corrupt) { continue; }
            bool delete = repair && unreadable.Count == 0;
            if (delete) recipes.Delete(digest);
            found.Add(new StoreProblem
            {
                Kind = "RecipeUnreferenced", Severity = "Garbage", Target = path, Repaired = delete,
                Message = unreadable.Count > 0 && repair
                    ? "No image record names this recipe's image, but some image records cannot be read; it was kept."
                    : "No image record names this recipe's image (it was removed).",
            });
        }
        var dir = Root.Sub("recipes");
        if (Directory.Exists(dir))
            foreach (var aside in Directory.EnumerateFiles(dir, "*.json.corrupt-*"))
                found.Add(new StoreProblem { Kind = "RecordSetAside", Severity = "Warning", Target = aside, Message = "A corrupt build recipe set aside by -Repair. Delete it when it is no longer needed." });
        return found;
    }
}
