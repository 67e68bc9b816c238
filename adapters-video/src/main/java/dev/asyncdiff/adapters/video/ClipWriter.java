package dev.asyncdiff.adapters.video;

import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes frames as a clip in the {@link ClipFormat} its path names, and reads clips back.
 *
 * <p>Writing is atomic: the clip is written to a hidden temporary file (a staging folder for PNG
 * frames) beside {@code out} and then moved into place, atomically where the file system can. If
 * anything fails, the temporary is deleted and {@code out} is as it was: absent, or the previous clip.
 * An existing clip file at {@code out} is replaced; an existing PNG frames folder is replaced only when
 * it holds nothing but {@code frame_NNNNN.png} files, so user data is never deleted.
 *
 * <p>MP4 needs an even width and height (H.264 with 4:2:0 chroma). Odd sizes are refused rather than
 * padded, so a clip always has exactly the frames' size; write a GIF or PNG frames, or crop or resize.
 *
 * <p>Stateless and thread-safe.
 */
public final class ClipWriter {
    private static final Logger LOG = LoggerFactory.getLogger(ClipWriter.class);
    private static final int STAGING_ATTEMPTS = 100;

    private ClipWriter() {
    }

    /**
     * Writes {@code frames} at {@code fps} frames per second to {@code out}, creating missing parent
     * folders. GIF stores the frame delay in 1/100 s, rounded and at least 1; MP4 keeps the rate to 1/1000.
     *
     * @return the absolute path of the written clip
     * @throws IllegalArgumentException when there are no frames, a frame is null or differs in size from
     *     the first, {@code fps} is not positive and finite, an MP4 has an odd width or height, the
     *     extension is unsupported, or a PNG {@code out} exists and is not a frames folder of ours
     * @throws UncheckedIOException naming {@code out} when the clip cannot be written
     */
    public static Path write(List<BufferedImage> frames, double fps, Path out) {
        Objects.requireNonNull(frames, "frames");
        Objects.requireNonNull(out, "out");
        ClipFormat format = ClipFormat.of(out);
        Path target = out.toAbsolutePath().normalize();
        validate(frames, fps, format, target);
        try {
            Files.createDirectories(target.getParent());
            if (format == ClipFormat.PNG) {
                writeFolder(frames, target);
            } else {
                writeFile(frames, fps, format, target);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the " + format + " clip " + target + ": " + e.getMessage(), e);
        }
        return target;
    }

    /**
     * The frames of {@code clip} as {@link BufferedImage#TYPE_INT_RGB} images, in an unmodifiable list:
     * GIF frames as stored, MP4 frames decoded, or a folder's {@code .png} files in name order.
     *
     * @throws IllegalArgumentException when the clip does not exist, has no frames or has an unsupported extension
     * @throws UncheckedIOException naming {@code clip} when it cannot be read
     */
    public static List<BufferedImage> read(Path clip) {
        ClipFormat format = ClipFormat.of(clip);
        boolean present = format == ClipFormat.PNG ? Files.isDirectory(clip) : Files.isRegularFile(clip);
        if (!present) {
            throw new IllegalArgumentException(format + " clip " + clip.toAbsolutePath() + " does not exist");
        }
        List<BufferedImage> frames;
        try {
            frames = switch (format) {
                case MP4 -> Mp4Clips.read(clip);
                case GIF -> GifClips.read(clip);
                case PNG -> PngFrames.read(clip);
            };
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the " + format + " clip " + clip.toAbsolutePath() + ": "
                    + e.getMessage(), e);
        }
        if (frames.isEmpty()) {
            throw new IllegalArgumentException(format + " clip " + clip.toAbsolutePath() + " has no frames");
        }
        return frames.stream().map(ClipWriter::toRgb).toList();
    }

    private static void validate(List<BufferedImage> frames, double fps, ClipFormat format, Path target) {
        if (frames.isEmpty()) {
            throw new IllegalArgumentException("a clip needs at least one frame, got none");
        }
        BufferedImage first = frames.get(0);
        for (int i = 0; i < frames.size(); i++) {
            BufferedImage frame = frames.get(i);
            if (frame == null) {
                throw new IllegalArgumentException("frame " + i + " is null");
            }
            if (frame.getWidth() != first.getWidth() || frame.getHeight() != first.getHeight()) {
                throw new IllegalArgumentException("frame " + i + " is " + size(frame) + " but frame 0 is "
                        + size(first) + "; all frames of a clip must have the same size");
            }
        }
        if (!(fps > 0) || Double.isInfinite(fps)) {
            throw new IllegalArgumentException("fps must be positive and finite, got " + fps);
        }
        switch (format) {
            case MP4 -> {
                if (first.getWidth() % 2 != 0 || first.getHeight() % 2 != 0) {
                    throw new IllegalArgumentException("MP4 (H.264 with 4:2:0 chroma) needs an even width and "
                            + "height, got " + size(first) + "; crop or resize the frames to an even size, or "
                            + "write a .gif or a folder of PNG frames");
                }
                Mp4Clips.frameRate(fps);
            }
            case PNG -> checkReplaceableFolder(target);
            case GIF -> {
            }
        }
    }

    private static void checkReplaceableFolder(Path target) {
        if (!Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (!Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
            throw new IllegalArgumentException(target + " exists and is not a folder; PNG frames are written "
                    + "to a folder (or name a .mp4 or .gif file)");
        }
        boolean ours;
        try {
            ours = PngFrames.isFramesFolder(target);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + target + ": " + e.getMessage(), e);
        }
        if (!ours) {
            throw new IllegalArgumentException("folder " + target + " holds files other than frame_NNNNN.png; "
                    + "refusing to replace it, choose a new or empty folder for the PNG frames");
        }
    }

    private static void writeFile(List<BufferedImage> frames, double fps, ClipFormat format, Path target)
            throws IOException {
        Path temp = reserve(target, ".tmp", false);
        try {
            switch (format) {
                case MP4 -> Mp4Clips.write(frames, fps, temp);
                case GIF -> GifClips.write(frames, fps, temp);
                case PNG -> throw new IllegalStateException("PNG frames are written to a folder");
            }
            move(temp, target);
        } catch (Throwable e) {
            deleteQuietly(temp, false, e);
            throw e;
        }
    }

    private static void writeFolder(List<BufferedImage> frames, Path target) throws IOException {
        Path staging = reserve(target, ".staging", true);
        try {
            PngFrames.write(frames, staging);
            if (Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
                replaceFolder(staging, target);
            } else {
                move(staging, target);
            }
        } catch (Throwable e) {
            deleteQuietly(staging, true, e);
            throw e;
        }
    }

    /** Swaps {@code staging} in for the frames folder {@code target}, restoring the old one if that fails. */
    private static void replaceFolder(Path staging, Path target) throws IOException {
        Path old = unusedSibling(target, ".old");
        move(target, old);
        try {
            move(staging, target);
        } catch (IOException | RuntimeException e) {
            try {
                move(old, target);
            } catch (IOException | RuntimeException restore) {
                e.addSuppressed(restore);
            }
            throw e;
        }
        try {
            PngFrames.deleteFolder(old);
        } catch (IOException | RuntimeException e) {
            LOG.warn("wrote {} but could not delete the previous frames, left in {}: {}", target, old,
                    e.toString());
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /**
     * Creates a hidden file or folder beside {@code target}. Unlike {@link Files#createTempFile} it gets
     * the default permissions, which the clip keeps once moved into place.
     */
    private static Path reserve(Path target, String suffix, boolean folder) throws IOException {
        for (int attempt = 0; ; attempt++) {
            Path path = unusedSibling(target, suffix);
            try {
                return folder ? Files.createDirectory(path) : Files.createFile(path);
            } catch (FileAlreadyExistsException e) {
                if (attempt == STAGING_ATTEMPTS) {
                    throw e;
                }
            }
        }
    }

    private static Path unusedSibling(Path target, String suffix) {
        String random = Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
        return target.resolveSibling("." + target.getFileName() + "." + random + suffix);
    }

    private static void deleteQuietly(Path path, boolean folder, Throwable cause) {
        try {
            if (folder) {
                if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
                    PngFrames.deleteFolder(path);
                }
            } else {
                Files.deleteIfExists(path);
            }
        } catch (IOException | RuntimeException e) {
            cause.addSuppressed(e);
        }
    }

    private static String size(BufferedImage image) {
        return image.getWidth() + "x" + image.getHeight();
    }

    private static BufferedImage toRgb(BufferedImage image) {
        if (image.getType() == BufferedImage.TYPE_INT_RGB) {
            return image;
        }
        BufferedImage rgb = new BufferedImage(image.getWidth(), image.getHeight(), BufferedImage.TYPE_INT_RGB);
        Graphics2D g = rgb.createGraphics();
        try {
            g.drawImage(image, 0, 0, null);
        } finally {
            g.dispose();
        }
        return rgb;
    }
}
