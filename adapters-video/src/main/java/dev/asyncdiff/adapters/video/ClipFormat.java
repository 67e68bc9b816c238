package dev.asyncdiff.adapters.video;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The container a clip is written in, chosen from the output path by {@link #of(Path)}.
 */
public enum ClipFormat {
    /** H.264 in MP4, encoded by JCodec; needs an even width and height (4:2:0 chroma). */
    MP4,
    /** Animated GIF, looping forever, one palette per frame. */
    GIF,
    /** A folder of numbered frames, {@code frame_00000.png}, {@code frame_00001.png}, … */
    PNG;

    static final String SUPPORTED = ".mp4, .gif, or a folder for PNG frames";

    /**
     * The format of {@code out}: {@code .mp4} is MP4, {@code .gif} is GIF (case-insensitive), and an
     * existing directory or a name without an extension is a PNG frames folder. A leading dot does not
     * start an extension ({@code .frames} is a folder). {@link Path} drops a trailing separator, so
     * {@code clip.mp4/} reads as {@code clip.mp4}; name the folder without an extension instead.
     *
     * @throws IllegalArgumentException naming the extension and the supported ones for any other extension
     */
    public static ClipFormat of(Path out) {
        if (Files.isDirectory(out) || out.getFileName() == null) {
            return PNG;
        }
        String name = out.getFileName().toString();
        int dot = name.lastIndexOf('.');
        if (dot <= 0) {
            return PNG;
        }
        String extension = name.substring(dot).toLowerCase(Locale.ROOT);
        return switch (extension) {
            case ".mp4" -> MP4;
            case ".gif" -> GIF;
            default -> throw new IllegalArgumentException("unsupported clip extension '" + name.substring(dot)
                    + "' in " + out + "; expected " + SUPPORTED);
        };
    }
}
