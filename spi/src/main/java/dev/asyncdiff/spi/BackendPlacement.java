package dev.asyncdiff.spi;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which backend runs which part of a pipeline, where it is not the selected one: a pipeline part
 * ({@code denoiser}, {@code textEncoder}, {@code vae}, {@code controlnet}, {@code imageEncoder}) or one
 * split component ({@code components.N}), each naming a backend provider, e.g. the denoiser on
 * {@code tensorrt} and text encoders and VAE on {@code onnx}. A component's entry wins over
 * {@code denoiser}; a part without an entry runs on the selected backend. Keys may also be written
 * {@code components.0.backend}, as in a properties file. Immutable.
 *
 * @param byPart backend name by part key
 */
public record BackendPlacement(Map<String, String> byPart) {
    /** The pipeline parts a placement may name, besides {@code components.N}. */
    public static final List<String> PARTS = List.of("denoiser", "textEncoder", "vae", "controlnet", "imageEncoder");

    /** No placement: everything on the selected backend. */
    public static final BackendPlacement NONE = new BackendPlacement(Map.of());

    private static final Pattern COMPONENT_KEY = Pattern.compile("components\\.(\\d+)");
    private static final Pattern COMPONENT_FILE = Pattern.compile("component-(\\d+)\\.onnx");
    private static final Pattern UNIT_FILE = Pattern.compile("unit-\\d+\\.onnx");

    /**
     * Validates the keys and names.
     *
     * @throws IllegalArgumentException naming the key and the accepted ones, or the bad backend name
     */
    public BackendPlacement {
        Map<String, String> normalized = new LinkedHashMap<>();
        for (Map.Entry<String, String> entry : byPart.entrySet()) {
            String key = entry.getKey() == null ? "" : entry.getKey().trim();
            if (key.endsWith(".backend")) {
                key = key.substring(0, key.length() - ".backend".length());
            }
            if (!PARTS.contains(key) && !COMPONENT_KEY.matcher(key).matches()) {
                throw new IllegalArgumentException("unknown part '" + entry.getKey() + "' to place a backend on; "
                        + "expected one of " + String.join(", ", PARTS) + " or components.N (N = 0, 1, …)");
            }
            normalized.put(key, RuntimeConfig.requireBackendName(entry.getValue() == null ? null
                    : entry.getValue().trim()));
        }
        byPart = Map.copyOf(normalized);
    }

    /** Whether every part runs on the selected backend. */
    public boolean isEmpty() {
        return byPart.isEmpty();
    }

    /**
     * The backend placed on the part {@code modelFile} belongs to, if any: a split component by its
     * index (a {@code component-N.onnx} beside a {@code manifest.json}), then the pipeline part named
     * by the folder the file is in ({@code unet}/{@code transformer}, {@code text_encoder*}, {@code vae*},
     * {@code controlnet*}, {@code image_encoder}). Blocks timed for calibration count as the denoiser.
     */
    public Optional<String> backendFor(Path modelFile) {
        Path name = modelFile.getFileName();
        if (name != null) {
            Matcher component = COMPONENT_FILE.matcher(name.toString());
            if (component.matches() && Files.isRegularFile(modelFile.resolveSibling("manifest.json"))) {
                String placed = byPart.get("components." + Integer.parseInt(component.group(1)));
                return Optional.ofNullable(placed != null ? placed : byPart.get("denoiser"));
            }
            if (UNIT_FILE.matcher(name.toString()).matches()) {
                return Optional.ofNullable(byPart.get("denoiser"));
            }
        }
        Path folder = modelFile.getParent() == null ? null : modelFile.getParent().getFileName();
        String part = folder == null ? null : partOf(folder.toString().toLowerCase(Locale.ROOT));
        return part == null ? Optional.empty() : Optional.ofNullable(byPart.get(part));
    }

    private static String partOf(String folder) {
        if (folder.equals("unet") || folder.equals("transformer")) {
            return "denoiser";
        }
        if (folder.startsWith("text_encoder")) {
            return "textEncoder";
        }
        if (folder.startsWith("vae")) {
            return "vae";
        }
        if (folder.startsWith("controlnet")) {
            return "controlnet";
        }
        if (folder.equals("image_encoder")) {
            return "imageEncoder";
        }
        return null;
    }
}
