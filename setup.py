"""baff_ros: an ament_python ROS 2 package that also installs with pip."""

from glob import glob
import os
import sys

from setuptools import find_packages, setup
from setuptools.command.develop import develop
from setuptools.command.install_scripts import install_scripts

package_name = 'baff_ros'

#: ROS 2 executables (``ros2 run baff_ros <name>``, the launch file's ``executable=``), in entry
#: point syntax. They are written to ``lib/baff_ros`` (setup.cfg's install_scripts/script_dir) by
#: the ``setup.py install`` and ``setup.py develop`` runs that colcon makes, and are deliberately
#: not console_scripts: a wheel (``pip install``) would put a generic ``segment`` on PATH that
#: needs a sourced ROS 2.
ROS_EXECUTABLES = [
    'segment = baff_ros.ros.rclpy_node:main',
]

ROS_EXECUTABLE_TEMPLATE = """#!{python}
# ROS 2 executable of {package}: ros2 run {package} {name}
import sys

from {module} import {function}

if __name__ == '__main__':
    sys.exit({function}())
"""


def ros_executables(python):
    """(name, file contents) of each ROS 2 executable, run by the interpreter ``python``."""
    scripts = []
    for spec in ROS_EXECUTABLES:
        name, target = (part.strip() for part in spec.split('='))
        module, function = target.split(':')
        scripts.append((name, ROS_EXECUTABLE_TEMPLATE.format(
            python=python, package=package_name, name=name, module=module, function=function)))
    return scripts


class InstallScripts(install_scripts):
    """Entry-point scripts, plus the ROS 2 executables unless building a wheel."""

    def run(self):
        super().run()
        # bdist_wheel and editable_wheel set no_ep: a wheel's scripts come from its
        # entry_points.txt, where the ROS 2 executables are not.
        if self.no_ep:
            return
        python = getattr(self.get_finalized_command('build_scripts'), 'executable', None)
        for name, contents in ros_executables(python or sys.executable):
            self.write_script(name, contents)


class Develop(develop):
    """``setup.py develop`` (``colcon build --symlink-install``): the ROS 2 executables too."""

    def install_wrapper_scripts(self, dist):
        super().install_wrapper_scripts(dist)
        if not self.exclude_scripts:
            for name, contents in ros_executables(sys.executable):
                self.write_script(name, contents)


def data_files():
    """ROS 2 share layout: package index marker, package.xml, launch, config, models."""
    files = [
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
    ]
    for folder, patterns in (('launch', ['*.py']), ('config', ['*.yaml', '*.rviz']),
                             ('models', ['*.safetensors', '*.md', '*.json'])):
        found = sorted(f for p in patterns for f in glob(os.path.join(folder, p))
                       if os.path.isfile(f))
        if found:
            files.append((os.path.join('share', package_name, folder), found))
    # Sample data (the demo bag), directory structure kept.
    for folder, _dirs, names in sorted(os.walk(os.path.join('models', 'samples'))):
        found = sorted(os.path.join(folder, n) for n in names)
        if found:
            files.append((os.path.join('share', package_name, folder), found))
    return files


setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test', 'test.*']),
    data_files=data_files(),
    python_requires='>=3.10',
    # torch is deliberately not pinned here: install the build you want first (see README);
    # any torch >= 2.1 satisfies this and pip then installs nothing more.
    install_requires=[
        'torch>=2.1',
        'numpy>=1.23',
        'opencv-python-headless>=4.8',
        'safetensors>=0.4',
        'pyyaml>=6',
        'tqdm>=4.60',
    ],
    extras_require={
        'onnx': ['onnx>=1.15', 'onnxruntime>=1.17', 'onnxscript>=0.1'],
        # instead of 'onnx' (both install the onnxruntime module): CUDA and TensorRT providers
        'onnx-gpu': ['onnx>=1.15', 'onnxruntime-gpu>=1.17', 'onnxscript>=0.1'],
        # The DDS node generates its message types from rosbags' definitions.
        'dds': ['cyclonedds>=0.10.5', 'rosbags>=0.10'],
        'bag': ['rosbags>=0.10', 'mcap>=1.1', 'mcap-ros2-support>=0.5'],
        'plot': ['matplotlib>=3.7'],
        # cityscapesScripts' own evaluation (csEvalPixelLevelSemanticLabeling), to cross-check
        # `baff-ros eval`; the package itself uses its vendored label table (data/labels.py).
        'eval': ['cityscapesscripts>=2.2'],
        'all': ['onnx>=1.15', 'onnxruntime>=1.17', 'onnxscript>=0.1', 'cyclonedds>=0.10.5',
                'rosbags>=0.10', 'mcap>=1.1', 'mcap-ros2-support>=0.5', 'matplotlib>=3.7',
                'psutil>=5.9'],
        # The test suite: the parity test runs cityscapesscripts' evaluation (the eval extra).
        'dev': ['pytest>=7', 'pytest-timeout>=2', 'flake8>=6', 'pydocstyle>=6', 'psutil>=5.9',
                'mypy>=1.8', 'cityscapesscripts>=2.2'],
    },
    zip_safe=True,
    maintainer='baff_ros maintainers',
    maintainer_email='baff-ros@example.org',
    description='Real-time semantic segmentation with BAFF-SkipNet for ROS 2',
    license='Apache-2.0',
    entry_points={
        # Only the CLI goes on PATH; the ROS 2 executables are in ROS_EXECUTABLES above.
        'console_scripts': [
            'baff-ros = baff_ros.cli:main',
        ],
    },
    cmdclass={'install_scripts': InstallScripts, 'develop': Develop},
)
