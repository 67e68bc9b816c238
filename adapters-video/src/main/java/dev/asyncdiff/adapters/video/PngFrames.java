package dev.asyncdiff.adapters.video;

import dev.asyncdiff.api.Images;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** Folders of numbered PNG frames. */
final class PngFrames {
    private static final Pattern FRAME_NAME = Pattern.compile("frame_\\d{5,}\\.png");

    private PngFrames() {
    }

    /** The file name of frame {@code index}: {@code frame_00000.png}, … */
    static String frameName(int index) {
        return String.format("frame_%05d.png", index);
    }

    /**
     * Whether {@code folder} holds nothing but regular files named like our frames, so that replacing
     * it loses no one's data. An empty folder qualifies.
     */
    static boolean isFramesFolder(Path folder) throws IOException {
        try (Stream<Path> entries = Files.list(folder)) {
            return entries.allMatch(p -> Files.isRegularFile(p)
                    && FRAME_NAME.matcher(p.getFileName().toString()).matches());
        }
    }

    static void write(List<BufferedImage> frames, Path folder) {
        for (int i = 0; i < frames.size(); i++) {
            Images.writePng(frames.get(i), folder.resolve(frameName(i)), Map.of());
        }
    }

    /** The {@code .png} files of {@code folder} in name order. */
    static List<BufferedImage> read(Path folder) throws IOException {
        List<Path> files;
        try (Stream<Path> entries = Files.list(folder)) {
            files = entries.filter(p -> p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".png"))
                    .sorted().toList();
        }
        List<BufferedImage> frames = new ArrayList<>(files.size());
        for (Path file : files) {
            frames.add(Images.read(file));
        }
        return frames;
    }

    /** Deletes a folder {@link #isFramesFolder} accepted, or one we staged: plain files, no subfolders. */
    static void deleteFolder(Path folder) throws IOException {
        try (Stream<Path> entries = Files.list(folder)) {
            for (Path entry : (Iterable<Path>) entries::iterator) {
                Files.deleteIfExists(entry);
            }
        }
        Files.deleteIfExists(folder);
    }
}
