package dev.asyncdiff.onnx.graph.split;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.asyncdiff.api.ComponentFile;
import dev.asyncdiff.api.ComponentSplitter;
import dev.asyncdiff.api.MalformedModelException;
import dev.asyncdiff.api.ModelNotFoundException;
import dev.asyncdiff.onnx.graph.CacheLock;
import dev.asyncdiff.onnx.graph.ExternalDataPolicy;
import dev.asyncdiff.onnx.graph.OnnxModel;
import dev.asyncdiff.onnx.graph.OnnxWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cuts an exported denoiser into N components by architecture, from the ONNX graph alone, and
 * caches the result on disk under (source hash, N, latent size, planner version).
 *
 * <p>Cache entries are safe to share between threads and processes: a split is written under the entry's
 * {@link CacheLock} into a temporary folder and renamed into place, so a second writer of the same entry waits and
 * reuses it, and a reader sees an entry either complete or not at all. The manifest records every file's size and
 * SHA-256; an entry that no longer matches (truncated, overwritten) is cut again with a warning. Temporary folders
 * of runs killed while they wrote are removed by the next writer.
 *
 * <p>Thread-safe: instances hold their cache location and remembered digests.
 */
public final class GraphSplitter implements ComponentSplitter {
    private static final Logger LOG = LoggerFactory.getLogger(GraphSplitter.class);
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private final Path cacheRoot;
    /** Digests of split files found intact, by {@link #fingerprint}: each file version is read once per JVM. */
    private static final Map<String, String> VERIFIED = new ConcurrentHashMap<>();
    private final Map<String, String> digests = new ConcurrentHashMap<>();

    /** A splitter caching under {@link #defaultCacheRoot()}. */
    public GraphSplitter() {
        this(defaultCacheRoot());
    }

    /** A splitter caching under {@code cacheRoot}. */
    public GraphSplitter(Path cacheRoot) {
        this.cacheRoot = cacheRoot;
    }

    /** System property that overrides {@code ASYNCDIFF_CACHE_DIR} (the build points tests' caches at {@code target}). */
    public static final String CACHE_PROPERTY = "asyncdiff.cache.dir";

    /**
     * {@code <cache>/splits}, where {@code <cache>} is the {@value #CACHE_PROPERTY} system property, else
     * {@code $ASYNCDIFF_CACHE_DIR}, else {@code ~/.cache/asyncdiff}.
     */
    public static Path defaultCacheRoot() {
        String configured = System.getProperty(CACHE_PROPERTY);
        if (configured == null || configured.isBlank()) {
            configured = System.getenv("ASYNCDIFF_CACHE_DIR");
        }
        Path base = configured != null && !configured.isBlank() ? Path.of(configured)
                : Path.of(System.getProperty("user.home"), ".cache", "asyncdiff");
        return base.resolve("splits");
    }

    @Override
    public List<ComponentFile> split(Path denoiserModel, int parts, int latentHeight, int latentWidth, Path outputDir) {
        return split(denoiserModel, parts, latentHeight, latentWidth, outputDir, ExternalDataPolicy.AUTO).componentFiles();
    }

    /**
     * The denoiser as {@code parts} component files, from the cache: for one part, the whole model
     * file itself (nothing is written); otherwise {@link #split} with the components in the cache.
     * A strategy's denoiser source is {@code parts -> splitter.components(denoiser, parts, h, w)}.
     */
    public List<ComponentFile> components(Path denoiser, int parts, int latentHeight, int latentWidth) {
        return components(denoiser, parts, latentHeight, latentWidth, SplitOptions.defaults());
    }

    /** {@link #components(Path, int, int, int)} planned with {@code options}. */
    public List<ComponentFile> components(Path denoiser, int parts, int latentHeight, int latentWidth,
                                          SplitOptions options) {
        if (parts == 1 && !Files.isRegularFile(denoiser.resolve(SplitManifest.FILE_NAME))) {
            return List.of(new ComponentFile(0, denoiserFile(denoiser), List.of(), List.of()));
        }
        return split(denoiser, parts, latentHeight, latentWidth, null, ExternalDataPolicy.AUTO, options)
                .componentFiles();
    }

    /**
     * Splits {@code denoiser} into {@code parts} components, or reuses an earlier split of the same
     * model bytes. {@code denoiser} may be an {@code .onnx} file, a model folder holding
     * {@code unet/model.onnx} or {@code transformer/model.onnx}, or a pre-split folder with a
     * {@code manifest.json}, which is returned as is.
     *
     * @param outputDir where to write the components, or null for the cache
     * @param policy    where component initializers go
     * @throws IllegalArgumentException when {@code parts} exceeds the model's units or the model has no latent input
     */
    public SplitResult split(Path denoiser, int parts, int latentHeight, int latentWidth, Path outputDir,
                             ExternalDataPolicy policy) {
        return split(denoiser, parts, latentHeight, latentWidth, outputDir, policy, SplitOptions.defaults());
    }

    /**
     * {@link #split(Path, int, int, int, Path, ExternalDataPolicy)} planned with {@code options}: the input
     * shapes that bind dynamic axes, the link, and measured unit costs (ignored, with a warning, when they
     * were measured for another model, planner or latent size).
     */
    public SplitResult split(Path denoiser, int parts, int latentHeight, int latentWidth, Path outputDir,
                             ExternalDataPolicy policy, SplitOptions options) {
        if (Files.isRegularFile(denoiser.resolve(SplitManifest.FILE_NAME))) {
            SplitResult presplit = open(denoiser);
            if (presplit.manifest().parts() != parts) {
                throw new IllegalArgumentException("pre-split folder " + denoiser + " holds "
                        + presplit.manifest().parts() + " components, " + parts + " were asked for");
            }
            return presplit;
        }
        if (latentHeight < 1 || latentWidth < 1) {
            throw new IllegalArgumentException("latent size must be positive, was " + latentHeight + "x" + latentWidth);
        }
        Path modelFile = denoiserFile(denoiser);
        OnnxModel model = OnnxModel.load(modelFile);
        String hash = hash(model);
        if (options.measured() != null && !options.measured().matches(hash, latentHeight, latentWidth)) {
            LOG.warn("ignoring unit costs measured on {}: they belong to another model, planner version or latent size "
                    + "than {} at {}x{}; balancing the estimate instead", options.measured().target(), modelFile,
                    latentHeight, latentWidth);
            options = options.withMeasured(null);
        }
        if (outputDir != null) {
            Reuse existing = reusable(outputDir, hash, parts, latentHeight, latentWidth);
            if (existing.result() != null) {
                LOG.info("reusing split {}", outputDir);
                return existing.result();
            }
            CacheLock.removeAbandoned(outputDir, "");
            return cut(model, modelFile, hash, parts, latentHeight, latentWidth, policy, options, outputDir,
                    existing);
        }
        Path target = cacheRoot.resolve(hash.substring(0, 16) + "-n" + parts + "-" + latentHeight + "x"
                + latentWidth + "-v" + SplitPlanner.VERSION + "-" + shortHash(options.fingerprint()));
        Reuse cached = reusable(target, hash, parts, latentHeight, latentWidth);
        if (cached.result() != null) {
            LOG.info("reusing split {}", target);
            return cached.result();
        }
        try (CacheLock lock = CacheLock.acquire(target, "split")) {
            // another process or thread may have written it while this one waited for the lock
            cached = reusable(target, hash, parts, latentHeight, latentWidth);
            if (cached.result() != null) {
                LOG.info("reusing split {}, written by another run", target);
                return cached.result();
            }
            CacheLock.removeAbandoned(target, "");
            return cut(model, modelFile, hash, parts, latentHeight, latentWidth, policy, options, target, cached);
        } catch (UncheckedIOException e) {
            throw new UncheckedIOException(e.getMessage() + cacheNote(), e.getCause());
        }
    }

    /** Plans, builds and writes the split to {@code target}, replacing a damaged one there with a warning. */
    private SplitResult cut(OnnxModel model, Path modelFile, String hash, int parts, int latentHeight,
                            int latentWidth, ExternalDataPolicy policy, SplitOptions options, Path target,
                            Reuse previous) {
        if (previous.problem() != null) {
            LOG.warn("the split in {} is damaged ({}); splitting {} again", target, previous.problem(), modelFile);
        }
        SplitPlanner.Plan plan = SplitPlanner.plan(new GraphIndex(model), parts, latentHeight, latentWidth, options);
        List<ComponentBuilder.Built> components = ComponentBuilder.build(plan);
        SplitManifest manifest = write(target, modelFile, hash, parts, latentHeight, latentWidth, planning(options,
                components), components, policy);
        return new SplitResult(target, manifest, false);
    }

    /** Where the split cache is and how to move it, for the messages of cache errors. */
    private String cacheNote() {
        return " (split cache: " + cacheRoot.toAbsolutePath() + "; set ASYNCDIFF_CACHE_DIR to use another folder)";
    }

    /**
     * Times every block-level unit of {@code denoiser} on a real session (a few warm runs, the median of
     * {@code timedRuns}) and stores the result under {@link #calibrationFile}, where
     * {@link #storedCalibration} finds it; balance on it with {@link SplitOptions#withMeasured}.
     *
     * @param loader opens a unit's model file on the target device and backend; its sessions are closed here
     * @param target what the units run on, e.g. {@code onnx on cpu:0}; part of the stored file's name
     */
    public UnitCosts calibrate(Path denoiser, int latentHeight, int latentWidth, SplitOptions options,
                               java.util.function.Function<Path, dev.asyncdiff.api.InferenceSession> loader,
                               String target, int warmUps, int timedRuns) {
        Path modelFile = denoiserFile(denoiser);
        OnnxModel model = OnnxModel.load(modelFile);
        String hash = hash(model);
        Path work = cacheRoot.resolve(".calibrating-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
        UnitCosts costs = Calibrator.measure(new GraphIndex(model), hash, latentHeight, latentWidth, options, loader,
                target, warmUps, timedRuns, work);
        costs.save(calibrationFile(hash, latentHeight, latentWidth, target));
        return costs;
    }

    /**
     * Times the components of {@code split} one by one on real sessions (each fed its real inputs from one
     * chained run on seeded random model inputs; a few warm runs, then the median of {@code timedRuns}):
     * what a component costs on the target, to compare with the plan's shares.
     *
     * @return the median seconds of each component, in order
     */
    public double[] timeComponents(SplitResult split, SplitOptions options,
                                   java.util.function.Function<Path, dev.asyncdiff.api.InferenceSession> loader,
                                   int warmUps, int timedRuns) {
        return timeComponents(Path.of(split.manifest().source()), split, options, loader, warmUps, timedRuns);
    }

    /**
     * {@link #timeComponents(SplitResult, SplitOptions, java.util.function.Function, int, int)} reading the
     * graph from {@code denoiser}: a split reused from the cache may record the path of another copy of the
     * same model (its key is the model's hash), which need not exist any more.
     */
    public double[] timeComponents(Path denoiser, SplitResult split, SplitOptions options,
                                   java.util.function.Function<Path, dev.asyncdiff.api.InferenceSession> loader,
                                   int warmUps, int timedRuns) {
        SplitManifest manifest = split.manifest();
        OnnxModel model = OnnxModel.load(denoiserFile(denoiser));
        SplitPlanner.Analysis analysis = SplitPlanner.analyse(new GraphIndex(model), manifest.latentHeight(),
                manifest.latentWidth(), options);
        List<Path> files = split.componentFiles().stream().map(ComponentFile::file).toList();
        return Calibrator.timeChain(analysis, files, loader, warmUps, timedRuns);
    }

    /**
     * The SHA-256 of the denoiser {@code denoiser} (a file, or a folder with {@code unet/model.onnx} …): its graph
     * and external data files; the key its splits are cached under.
     */
    public String modelHash(Path denoiser) {
        return hash(OnnxModel.load(denoiserFile(denoiser)));
    }

    /** The unit costs {@link #calibrate} stored for {@code denoiser} at this size and target, if any. */
    public java.util.Optional<UnitCosts> storedCalibration(Path denoiser, int latentHeight, int latentWidth,
                                                          String target) {
        Path modelFile = denoiserFile(denoiser);
        String hash = hash(OnnxModel.load(modelFile));
        Path file = calibrationFile(hash, latentHeight, latentWidth, target);
        if (!Files.isRegularFile(file)) {
            return java.util.Optional.empty();
        }
        UnitCosts costs = UnitCosts.load(file);
        return costs.matches(hash, latentHeight, latentWidth) ? java.util.Optional.of(costs) : java.util.Optional.empty();
    }

    /** Where measured unit costs of a model at a size on a target are stored: beside the splits. */
    Path calibrationFile(String hash, int latentHeight, int latentWidth, String target) {
        return cacheRoot.resolve("calibration").resolve(hash.substring(0, 16) + "-" + latentHeight + "x" + latentWidth
                + "-v" + SplitPlanner.VERSION + "-" + target.replaceAll("[^A-Za-z0-9]+", "_") + ".json");
    }

    /**
     * Opens a folder written by a split (or by hand) with a {@code manifest.json}, checking every file the
     * manifest lists against its size and SHA-256 (a digest is computed once per file version per JVM).
     *
     * @throws ModelNotFoundException  when the manifest or a component file is missing
     * @throws MalformedModelException when the manifest cannot be read, or a file's size or digest differs from
     *                                 the manifest's (the message names the file and says to split again)
     */
    public static SplitResult open(Path directory) {
        SplitResult result = read(directory);
        String problem = problemWith(directory, result.manifest());
        if (problem != null) {
            throw new MalformedModelException(directory.resolve(SplitManifest.FILE_NAME), "the split is damaged: "
                    + problem + "; split the model again (asyncdiff split) to replace it");
        }
        return result;
    }

    private static SplitResult read(Path directory) {
        Path file = directory.resolve(SplitManifest.FILE_NAME);
        if (!Files.isRegularFile(file)) {
            throw new ModelNotFoundException(file, "split manifest");
        }
        SplitManifest manifest;
        try {
            manifest = JSON.readValue(file.toFile(), SplitManifest.class);
        } catch (IOException e) {
            throw new MalformedModelException(file, "not a split manifest: " + e.getMessage(), e);
        }
        if (!SplitManifest.FORMAT.equals(manifest.format()) || manifest.components().isEmpty()) {
            throw new MalformedModelException(file, "expected format '" + SplitManifest.FORMAT
                    + "' with at least one component");
        }
        for (SplitManifest.Component component : manifest.components()) {
            Path componentFile = directory.resolve(component.file());
            if (!Files.isRegularFile(componentFile)) {
                throw new ModelNotFoundException(componentFile, "component " + component.index() + " of split");
            }
        }
        return new SplitResult(directory, manifest, true);
    }

    /** Null when every file the manifest lists has its recorded size and digest, else what differs. */
    private static String problemWith(Path directory, SplitManifest manifest) {
        if (manifest.files() == null) {
            return null;
        }
        for (SplitManifest.FileEntry entry : manifest.files()) {
            Path file = directory.resolve(entry.name());
            long size;
            try {
                size = Files.size(file);
            } catch (IOException e) {
                return entry.name() + " cannot be read (" + e + ")";
            }
            if (size != entry.bytes()) {
                return entry.name() + " has " + size + " bytes, the manifest says " + entry.bytes();
            }
            String key = fingerprint(List.of(file));
            String digest = VERIFIED.computeIfAbsent(key, k -> digest(List.of(file)));
            if (!digest.equals(entry.sha256())) {
                VERIFIED.remove(key);
                return entry.name() + " has SHA-256 " + digest + ", the manifest says " + entry.sha256();
            }
        }
        return null;
    }

    /** The denoiser's ONNX file for a file or a model folder. */
    public static Path denoiserFile(Path denoiser) {
        if (Files.isRegularFile(denoiser)) {
            return denoiser;
        }
        for (String candidate : List.of("unet/model.onnx", "transformer/model.onnx", "model.onnx")) {
            Path file = denoiser.resolve(candidate);
            if (Files.isRegularFile(file)) {
                return file;
            }
        }
        throw new ModelNotFoundException(denoiser, "denoiser (an .onnx file, or a folder with unet/model.onnx, "
                + "transformer/model.onnx or a split manifest.json)");
    }

    /** A cached split that can be used as is, or why not ({@code problem} null when there is none at all). */
    private record Reuse(SplitResult result, String problem) {
    }

    private static Reuse reusable(Path target, String hash, int parts, int latentHeight, int latentWidth) {
        if (!Files.exists(target)) {
            return new Reuse(null, null);
        }
        try {
            SplitResult existing = read(target);
            SplitManifest m = existing.manifest();
            boolean same = hash.equals(m.sourceHash()) && m.parts() == parts && m.latentHeight() == latentHeight
                    && m.latentWidth() == latentWidth && m.plannerVersion() == SplitPlanner.VERSION;
            if (!same) {
                LOG.info("the split in {} is of another model, size or planner version; splitting again", target);
                return new Reuse(null, null);
            }
            if (m.files() == null) {
                LOG.info("the split in {} predates file digests in manifests; splitting again", target);
                return new Reuse(null, null);
            }
            String problem = problemWith(target, m);
            return problem == null ? new Reuse(existing, null) : new Reuse(null, problem);
        } catch (RuntimeException e) {
            return new Reuse(null, e.getMessage());
        }
    }

    private static SplitManifest.Planning planning(SplitOptions options, List<ComponentBuilder.Built> components) {
        Link link = options.link();
        double step = components.stream().mapToDouble(c -> c.entry().estimatedMillis()).max().orElse(0);
        return new SplitManifest.Planning(link.name(),
                Double.isInfinite(link.bytesPerSecond()) ? null : link.bytesPerSecond() / 1e9,
                options.measured() == null ? "estimate" : "measured",
                options.measured() == null ? null : options.measured().target(),
                options.inputShapes().isEmpty() ? null : options.inputShapes(), step);
    }

    /** The first 8 hex digits of the SHA-256 of {@code text}. */
    static String shortHash(String text) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest).substring(0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /**
     * Writes the split into a temporary folder beside {@code target} and renames it into place. A folder already
     * at {@code target} (damaged, or of another model) is first renamed aside and deleted, so {@code target} is
     * always either absent or complete: a reader never sees a half-written or half-deleted split.
     */
    private static SplitManifest write(Path target, Path source, String hash, int parts, int latentHeight,
                                       int latentWidth, SplitManifest.Planning planning,
                                       List<ComponentBuilder.Built> components, ExternalDataPolicy policy) {
        Path temp = CacheLock.temporarySibling(target, "");
        try {
            Files.createDirectories(temp);
            List<SplitManifest.Component> entries = new ArrayList<>();
            for (ComponentBuilder.Built built : components) {
                SplitManifest.Component entry = built.entry();
                String fileName = "component-" + entry.index() + ".onnx";
                OnnxWriter.write(built.skeleton(), built.initializers(), temp.resolve(fileName), policy);
                entries.add(new SplitManifest.Component(entry.index(), fileName, entry.firstUnit(), entry.lastUnit(),
                        entry.costShare(), entry.gflops(), entry.weightBytes(), entry.inputs(), entry.outputs(),
                        entry.receiveBytes(), entry.sendBytes(), entry.estimatedMillis(), entry.cut()));
            }
            SplitManifest manifest = new SplitManifest(SplitManifest.FORMAT, SplitPlanner.VERSION,
                    source.toAbsolutePath().toString(), hash, parts, latentHeight, latentWidth, planning, entries,
                    fileEntries(temp));
            JSON.writeValue(temp.resolve(SplitManifest.FILE_NAME).toFile(), manifest);
            if (Files.exists(target)) {
                Path aside = CacheLock.temporarySibling(target, "");
                Files.move(target, aside, StandardCopyOption.ATOMIC_MOVE);
                deleteTree(aside);
            }
            Files.createDirectories(target.toAbsolutePath().getParent());
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
            return manifest;
        } catch (IOException e) {
            deleteTree(temp);
            throw new UncheckedIOException("cannot write split to " + target + ": " + e, e);
        } catch (RuntimeException e) {
            deleteTree(temp);
            throw e;
        }
    }

    /** Size and SHA-256 of every file in {@code folder} (the manifest is written after). */
    private static List<SplitManifest.FileEntry> fileEntries(Path folder) throws IOException {
        try (Stream<Path> files = Files.list(folder)) {
            List<SplitManifest.FileEntry> entries = new ArrayList<>();
            for (Path file : files.filter(Files::isRegularFile).sorted().toList()) {
                String digest = digest(List.of(file));
                entries.add(new SplitManifest.FileEntry(file.getFileName().toString(), Files.size(file), digest));
            }
            return entries;
        }
    }

    /**
     * SHA-256 over the model file and every external data file it references, in name order. Reading
     * gigabytes of weights for every strategy a pipeline creates would be wasted, so a digest is
     * remembered for as long as the files keep their identity, size and modification time.
     */
    String hash(OnnxModel model) {
        TreeSet<String> locations = new TreeSet<>();
        model.graph().getInitializerList().stream().filter(OnnxModel::isExternal)
                .forEach(t -> t.getExternalDataList().stream().filter(e -> e.getKey().equals("location"))
                        .forEach(e -> locations.add(e.getValue())));
        List<Path> files = new ArrayList<>(List.of(model.file()));
        for (String location : locations) {
            Path path = model.directory().resolve(location);
            if (!Files.isRegularFile(path)) {
                throw new ModelNotFoundException(path, "external data file of " + model.file().getFileName());
            }
            files.add(path);
        }
        return digests.computeIfAbsent(fingerprint(files), key -> digest(files));
    }

    private static String fingerprint(List<Path> files) {
        StringBuilder key = new StringBuilder();
        try {
            for (Path file : files) {
                BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
                key.append(file.toAbsolutePath()).append('|').append(attributes.fileKey()).append('|')
                        .append(attributes.size()).append('|')
                        .append(attributes.lastModifiedTime().to(TimeUnit.NANOSECONDS)).append('\n');
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + files + ": " + e, e);
        }
        return key.toString();
    }

    private static String digest(List<Path> files) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            for (Path file : files) {
                digestFile(digest, file);
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    private static void digestFile(MessageDigest digest, Path file) {
        byte[] buffer = new byte[1 << 20];
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), digest)) {
            while (in.read(buffer) >= 0) {
                // reading feeds the digest
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e, e);
        }
    }

    private static void deleteTree(Path root) {
        try {
            CacheLock.deleteTree(root);
        } catch (UncheckedIOException e) {
            LOG.warn("could not remove {}: {}", root, e.getMessage());
        }
    }
}
