# Copyright 2026 The baff_ros Authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
"""The DDS IdlStructs against the ROS 2 interface definitions installed on this machine.

The rosidl ``.idl`` files of every ROS 2 install found (``$AMENT_PREFIX_PATH`` and
``/opt/ros/<distro>``, sourced or not) are parsed here, and each IdlStruct in
``baff_ros.ros.dds.msgs`` must have the ROS message's field names, order and types. A second
check is live: IdlStructs built from the IDL files (what a DDS peer generated from the ROS
definitions uses) must match the node's writers under Cyclone's XTypes type checking, and the
Jazzy RIHS01 type hashes the node advertises must equal the ones rosidl generated.
"""

import dataclasses
import glob
import json
import os
from pathlib import Path
import re
import time
import typing
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest

pytest.importorskip('cyclonedds')

from cyclonedds.idl import IdlStruct, make_idl_struct  # noqa: E402
from cyclonedds.idl import types as cdt  # noqa: E402

from baff_ros.ros.dds import msgs  # noqa: E402
from baff_ros.ros.dds.config import loopback_env  # noqa: E402

#: Not test_ros_interop's domain (10 + pid % 80) when both run in one session.
DOMAIN = 10 + (os.getpid() + 40) % 80
# Loopback only, before any participant exists in this process. ROS_DOMAIN_ID is left alone
# (other modules' child processes inherit it); the participants here name DOMAIN explicitly.
os.environ['CYCLONEDDS_URI'] = loopback_env(DOMAIN)['CYCLONEDDS_URI']

#: The messages published or subscribed as topics (the others are nested in them).
TOPIC_TYPES = ('Image', 'CompressedImage', 'CameraInfo', 'LabelInfo', 'DiagnosticArray',
               'PointCloud2', 'OccupancyGrid')


# -- ROS installs ------------------------------------------------------------------------------

def ros_installs() -> List[Tuple[str, List[Path]]]:
    """(name, share dirs in lookup order) of every ROS 2 install with interface files.

    The sourced environment (``$AMENT_PREFIX_PATH``, possibly several prefixes) is one install;
    every ``/opt/ros/<distro>`` not already part of it is another (its files are read directly,
    without sourcing it).
    """
    installs = []
    seen = set()
    prefixes = [p for p in os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep) if p]
    shares = [Path(p) / 'share' for p in prefixes if (Path(p) / 'share').is_dir()]
    if shares:
        distro = os.environ.get('ROS_DISTRO', 'sourced')
        installs.append((f'{distro} (AMENT_PREFIX_PATH)', shares))
        seen.update(s.resolve() for s in shares)
    for share in sorted(Path(p) / 'share' for p in glob.glob('/opt/ros/*')):
        if share.is_dir() and share.resolve() not in seen:
            installs.append((share.parent.name, [share]))
    return [(name, shares) for name, shares in installs
            if any((s / 'sensor_msgs' / 'msg' / 'Image.idl').is_file() for s in shares)]


INSTALLS = ros_installs()
_NO_ROS = ('no ROS 2 interface files found: no <prefix>/share/sensor_msgs/msg/Image.idl under '
           '$AMENT_PREFIX_PATH or /opt/ros/*; install or source ROS 2 to check the DDS types')


@pytest.fixture(params=INSTALLS or [None], ids=[n for n, _ in INSTALLS] or ['no-ros'])
def ros(request) -> 'RosInterfaces':
    if request.param is None:
        pytest.skip(_NO_ROS)
    return RosInterfaces(request.param[1])


# -- a rosidl IDL reader -----------------------------------------------------------------------

# rosidl IDL types as tuples: ('prim', name), ('string', bound), ('seq', elem, bound),
# ('array', elem, length), ('struct', 'pkg::msg::Type'). Bounds are None when unbounded.
IdlType = Tuple[Any, ...]

_TOKENS = re.compile(r'''
    (?P<skip>\s+|//[^\n]*|/\*.*?\*/|^\#[^\n]*)
  | (?P<string>"(?:\\.|[^"\\])*")
  | (?P<name>[A-Za-z_]\w*(?:::[A-Za-z_]\w*)*)
  | (?P<number>-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)
  | (?P<punct>\S)
''', re.VERBOSE | re.DOTALL | re.MULTILINE)

_IDL_PRIMS = {
    'boolean': 'boolean', 'octet': 'octet', 'char': 'char', 'wchar': 'wchar',
    'float': 'float', 'double': 'double', 'long double': 'long double',
    'int8': 'int8', 'uint8': 'uint8', 'int16': 'int16', 'uint16': 'uint16',
    'int32': 'int32', 'uint32': 'uint32', 'int64': 'int64', 'uint64': 'uint64',
    'short': 'int16', 'unsigned short': 'uint16', 'long': 'int32', 'unsigned long': 'uint32',
    'long long': 'int64', 'unsigned long long': 'uint64',
}


def tokenize(text: str) -> List[str]:
    """IDL tokens without comments, preprocessor lines and annotations (``@x (...)``)."""
    raw = []
    pos = 0
    while pos < len(text):
        m = _TOKENS.match(text, pos)
        assert m, f'cannot tokenize IDL at {text[pos:pos + 40]!r}'
        pos = m.end()
        if m.lastgroup != 'skip':
            raw.append(m.group())
    out = []
    i = 0
    while i < len(raw):
        if raw[i] == '@':  # annotation: @name, optionally followed by (balanced ...)
            i += 2
            if i < len(raw) and raw[i] == '(':
                depth = 0
                while True:
                    depth += {'(': 1, ')': -1}.get(raw[i], 0)
                    i += 1
                    if depth == 0:
                        break
            continue
        out.append(raw[i])
        i += 1
    return out


def parse_idl(text: str) -> Dict[str, List[Tuple[str, IdlType]]]:
    """Parse rosidl IDL: ``{'pkg::msg::Type': [(field, type), ...]}`` in declaration order."""
    toks = tokenize(text)
    structs: Dict[str, List[Tuple[str, IdlType]]] = {}
    typedefs: Dict[str, IdlType] = {}
    scope: List[str] = []
    i = 0

    def expect(tok: str) -> None:
        nonlocal i
        assert toks[i] == tok, f'expected {tok!r}, got {toks[i]!r} in {"::".join(scope)}'
        i += 1

    def qualify(name: str) -> str:
        return name if '::' in name else '::'.join(scope + [name])

    def parse_type() -> IdlType:
        nonlocal i
        tok = toks[i]
        i += 1
        if tok == 'sequence':
            expect('<')
            elem = parse_type()
            bound = None
            if toks[i] == ',':
                bound = int(toks[i + 1])
                i += 2
            expect('>')
            return ('seq', elem, bound)
        if tok in ('string', 'wstring'):
            bound = None
            if toks[i] == '<':
                bound = int(toks[i + 1])
                i += 2
                expect('>')
            return ('string' if tok == 'string' else 'wstring', bound)
        words = [tok]
        while ' '.join(words + [toks[i]]) in _IDL_PRIMS or (
                words[-1] in ('unsigned', 'long') and toks[i] in ('short', 'long', 'double')):
            words.append(toks[i])
            i += 1
        name = ' '.join(words)
        if name in _IDL_PRIMS:
            return ('prim', _IDL_PRIMS[name])
        if qualify(name) in typedefs:
            return typedefs[qualify(name)]
        if name in typedefs:
            return typedefs[name]
        return ('struct', qualify(name))

    def declarator(base: IdlType) -> Tuple[str, IdlType]:
        nonlocal i
        name = toks[i]
        i += 1
        dims = []
        while toks[i] == '[':
            dims.append(int(toks[i + 1]))
            i += 2
            expect(']')
        for n in reversed(dims):
            base = ('array', base, n)
        return name, base

    while i < len(toks):
        tok = toks[i]
        if tok == 'module':
            scope.append(toks[i + 1])
            i += 2
            expect('{')
        elif tok == '}':
            i += 1
            expect(';')
            scope.pop()
        elif tok == 'struct':
            name = qualify(toks[i + 1])
            i += 2
            expect('{')
            fields = []
            while toks[i] != '}':
                fields.append(declarator(parse_type()))
                expect(';')
            i += 1
            expect(';')
            structs[name] = fields
        elif tok == 'typedef':
            i += 1
            base = parse_type()
            name, t = declarator(base)
            expect(';')
            typedefs[qualify(name)] = t
        elif tok == 'const':
            while toks[i] != ';':
                i += 1
            i += 1
        else:
            raise AssertionError(f'unexpected IDL token {tok!r} in {"::".join(scope)}')
    assert not scope, f'unclosed module {scope}'
    return structs


def fmt(t: IdlType) -> str:
    """IDL spelling of a parsed type (for readable assertion messages)."""
    kind = t[0]
    if kind == 'prim':
        return t[1]
    if kind in ('string', 'wstring'):
        return kind if t[1] is None else f'{kind}<{t[1]}>'
    if kind == 'seq':
        return f'sequence<{fmt(t[1])}>' if t[2] is None else f'sequence<{fmt(t[1])}, {t[2]}>'
    if kind == 'array':
        return f'{fmt(t[1])}[{t[2]}]'
    return t[1]


class RosInterfaces:
    """The message definitions of one ROS 2 install, read from its ``.idl`` files."""

    def __init__(self, shares: List[Path]) -> None:
        self.shares = shares
        self._cache: Dict[str, List[Tuple[str, IdlType]]] = {}

    def path(self, ros_name: str) -> Path:
        pkg, sub, name = ros_name.split('::')
        for share in self.shares:
            candidate = share / pkg / sub / f'{name}.idl'
            if candidate.is_file():
                return candidate
        raise AssertionError(f'{ros_name}: no {pkg}/{sub}/{name}.idl in {self.shares}')

    def fields(self, ros_name: str) -> List[Tuple[str, IdlType]]:
        """Fields of ``pkg::msg::Type`` from its own .idl file."""
        if ros_name not in self._cache:
            structs = parse_idl(self.path(ros_name).read_text(encoding='utf-8'))
            assert ros_name in structs, f'{self.path(ros_name)} defines {list(structs)}'
            self._cache[ros_name] = structs[ros_name]
        return self._cache[ros_name]


# -- the IdlStructs' side ----------------------------------------------------------------------

_CYCLONE_PRIMS = {'byte': 'octet', 'float32': 'float', 'float64': 'double'}


def dds_structs() -> List[type]:
    """Every IdlStruct defined in baff_ros.ros.dds.msgs."""
    found = [v for v in vars(msgs).values() if isinstance(v, type) and issubclass(v, IdlStruct)
             and v.__module__ == msgs.__name__]
    assert len(found) >= 11, found
    return found


def ros_name_of(cls: type) -> str:
    """``sensor_msgs::msg::dds_::Image_`` -> ``sensor_msgs::msg::Image``."""
    m = re.fullmatch(r'(\w+)::(msg)::dds_::(\w+)_', cls.__idl_typename__)
    assert m, f'{cls.__name__}: {cls.__idl_typename__!r} is not a ROS 2 DDS type name'
    return '::'.join(m.groups())


def cyclone_type(t: Any) -> IdlType:
    """The IDL type a cyclonedds-python annotation declares."""
    if typing.get_origin(t) is typing.Annotated:
        base, meta = typing.get_args(t)[:2]
        if isinstance(meta, str):
            return ('prim', _CYCLONE_PRIMS.get(meta, meta))
        if isinstance(meta, cdt.sequence):
            return ('seq', cyclone_type(meta.subtype), meta.max_length)
        if isinstance(meta, cdt.array):
            return ('array', cyclone_type(meta.subtype), meta.length)
        if isinstance(meta, cdt.bounded_str):
            return ('string', meta.max_length)
        if isinstance(meta, cdt.typedef):
            return cyclone_type(meta.subtype)
        raise AssertionError(f'unhandled annotation {meta!r} on {base!r}')
    if t is str:
        return ('string', None)
    if t is bool:
        return ('prim', 'boolean')
    if t is float:
        return ('prim', 'double')
    if t is int:
        return ('prim', 'int64')
    if isinstance(t, type) and issubclass(t, IdlStruct):
        return ('struct', ros_name_of(t))
    raise AssertionError(f'unhandled type {t!r}')


def dds_fields(cls: type) -> List[Tuple[str, IdlType]]:
    """(name, IDL type) of an IdlStruct's members, in declaration (= wire) order."""
    hints = typing.get_type_hints(cls, include_extras=True)
    return [(name, cyclone_type(hints[name])) for name in cls.__annotations__]


def _readable(fields: List[Tuple[str, IdlType]]) -> List[str]:
    return [f'{fmt(t)} {name}' for name, t in fields]


# -- tests -------------------------------------------------------------------------------------

def test_idl_reader_parses_rosidl_output():
    """The reader on rosidl's own output format, so a parse error cannot pass silently."""
    text = '''
// generated from rosidl_adapter/resource/msg.idl.em
#include "std_msgs/msg/Header.idl"
module demo_msgs {
  module msg {
    typedef double double__9[9];
    module Thing_Constants {
      @verbatim (language="comment", text="a; } struct X { // not code")
      const octet OK = 0;
    };
    @verbatim (language="comment", text=
      "see http://example.com/a;b" "\\n"
      "{ not a brace")
    struct Thing {
      std_msgs::msg::Header header;
      @default (value=1)
      uint8 flag;
      octet level;
      unsigned long count;
      double__9 k;
      float values[3];
      sequence<demo_msgs::msg::Part, 4> parts;
      sequence<uint8> data;
      string<8> short_name;
      Part part;
    };
  };
};
'''
    assert parse_idl(text) == {'demo_msgs::msg::Thing': [
        ('header', ('struct', 'std_msgs::msg::Header')),
        ('flag', ('prim', 'uint8')),
        ('level', ('prim', 'octet')),
        ('count', ('prim', 'uint32')),
        ('k', ('array', ('prim', 'double'), 9)),
        ('values', ('array', ('prim', 'float'), 3)),
        ('parts', ('seq', ('struct', 'demo_msgs::msg::Part'), 4)),
        ('data', ('seq', ('prim', 'uint8'), None)),
        ('short_name', ('string', 8)),
        ('part', ('struct', 'demo_msgs::msg::Part')),
    ]}
    # and the annotations this side reads
    assert cyclone_type(cdt.byte) == ('prim', 'octet')
    assert cyclone_type(cdt.uint8) == ('prim', 'uint8')
    assert cyclone_type(cdt.array[cdt.float64, 9]) == ('array', ('prim', 'double'), 9)


def test_every_idl_struct_matches_the_ros_message(ros):
    mismatches = []
    for cls in dds_structs():
        ros_name = ros_name_of(cls)
        want, got = ros.fields(ros_name), dds_fields(cls)
        if want != got:
            mismatches.append(f'{cls.__name__} vs {ros.path(ros_name)}:\n'
                              f'  ROS: {_readable(want)}\n  DDS: {_readable(got)}')
    assert not mismatches, '\n'.join(mismatches)


def test_nested_types_are_the_module_structs(ros):
    """Every struct a message nests is itself an IdlStruct of msgs, so it is checked too."""
    names = {ros_name_of(c) for c in dds_structs()}

    def walk(t: IdlType) -> List[str]:
        if t[0] == 'struct':
            return [t[1]]
        return walk(t[1]) if t[0] in ('seq', 'array') else []

    for cls in dds_structs():
        for field, t in ros.fields(ros_name_of(cls)):
            for nested in walk(t):
                assert nested in names, f'{cls.__name__}.{field}: {nested} has no IdlStruct'


# -- live: a peer generated from the ROS IDL ---------------------------------------------------

def idl_struct_factory(ros: RosInterfaces) -> Callable[[str], type]:
    """Build IdlStructs from the .idl files alone (what a peer generated from ROS IDL has)."""
    built: Dict[str, type] = {}
    prims = {'octet': cdt.byte, 'float': cdt.float32, 'double': cdt.float64, 'boolean': bool,
             'char': cdt.char}

    def annotation(t: IdlType) -> Any:
        kind = t[0]
        if kind == 'prim':
            return prims.get(t[1]) or getattr(cdt, t[1])
        if kind == 'string':
            return str if t[1] is None else cdt.bounded_str[t[1]]
        if kind == 'seq':
            elem = annotation(t[1])
            return cdt.sequence[elem] if t[2] is None else cdt.sequence[elem, t[2]]
        if kind == 'array':
            return cdt.array[annotation(t[1]), t[2]]
        if kind == 'struct':
            return build(t[1])
        raise AssertionError(f'no cyclonedds type for {fmt(t)}')

    def build(ros_name: str) -> type:
        if ros_name not in built:
            pkg, sub, name = ros_name.split('::')
            fields = {f: annotation(t) for f, t in ros.fields(ros_name)}
            built[ros_name] = make_idl_struct(f'Ros{name}', f'{pkg}::{sub}::dds_::{name}_',
                                              fields)
        return built[ros_name]

    return build


def _sample(cls: type) -> Any:
    """A sample of our type with a non-default value in every field the tests compare."""
    h = msgs.Header(stamp=msgs.Time(sec=5, nanosec=7), frame_id='cam')
    return {
        'Image': lambda: msgs.Image(header=h, height=1, width=2, encoding='mono8',
                                    is_bigendian=1, step=2, data=b'\x01\xfe'),
        'CompressedImage': lambda: msgs.CompressedImage(header=h, format='png', data=b'\x89P'),
        'CameraInfo': lambda: msgs.CameraInfo(
            header=h, height=4, width=6, distortion_model='plumb_bob', d=[0.5], binning_x=2,
            roi=msgs.RegionOfInterest(x_offset=1, y_offset=2, height=3, width=4,
                                      do_rectify=True)),
        'LabelInfo': lambda: msgs.LabelInfo(header=h, class_map=[msgs.VisionClass(
            class_id=255, class_name='unknown')], threshold=0.25),
        'DiagnosticArray': lambda: msgs.DiagnosticArray(header=h, status=[msgs.DiagnosticStatus(
            level=2, name='n', message='m', hardware_id='cpu',
            values=[msgs.KeyValue(key='k', value='v')])]),
        'PointCloud2': lambda: msgs.PointCloud2(
            header=h, height=1, width=1, fields=[msgs.PointField(name='x', offset=0, datatype=7,
                                                                 count=1)],
            is_bigendian=False, point_step=4, row_step=4, data=b'\x00\x00\x80?',
            is_dense=True),
        # Cells 0..127 only: _plain reads our bytes unsigned, the peer's int8 signed.
        'OccupancyGrid': lambda: msgs.OccupancyGrid(header=h, info=msgs.MapMetaData(
            map_load_time=msgs.Time(sec=1, nanosec=2), resolution=0.5, width=2, height=1,
            origin=msgs.Pose(position=msgs.Point(x=-1.0, y=-2.0, z=0.0))), data=b'\x00\x64'),
    }[cls.__name__]()


def _plain(value: Any) -> Any:
    """A sample as nested dicts/lists (bytes and lists of ints compare equal)."""
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (bytes, bytearray)):
        return list(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@pytest.mark.parametrize('type_name', TOPIC_TYPES)
def test_a_peer_built_from_the_ros_idl_matches_under_xtypes(ros, type_name):
    """Cyclone checks XTypes assignability: uint8 vs byte (octet) would never match."""
    from cyclonedds.domain import DomainParticipant
    from cyclonedds.pub import DataWriter
    from cyclonedds.sub import DataReader
    from cyclonedds.topic import Topic

    from baff_ros.ros.dds.node import qos

    ours = getattr(msgs, type_name)
    theirs = idl_struct_factory(ros)(ros_name_of(ours))
    topic = f'rt/baff_idl_check/{type_name}'
    ours_dp, theirs_dp = DomainParticipant(DOMAIN), DomainParticipant(DOMAIN)
    q = qos('reliable', 1, transient_local=True)
    writer = DataWriter(ours_dp, Topic(ours_dp, topic, ours), qos=q)
    reader = DataReader(theirs_dp, Topic(theirs_dp, topic, theirs), qos=q)
    deadline = time.monotonic() + 5
    while not writer.get_matched_subscriptions() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert writer.get_matched_subscriptions(), (
        f'{type_name}: a reader of the type generated from {ros.path(ros_name_of(ours))} '
        'does not match our writer')
    sample = _sample(ours)
    writer.write(sample)
    got: Optional[Any] = None
    while got is None and time.monotonic() < deadline + 5:
        got = next(iter(reader.take(N=1)), None)
        time.sleep(0.02)
    assert got is not None and _plain(got) == _plain(sample)


# -- Jazzy type hashes -------------------------------------------------------------------------

def _type_description_jsons() -> List[Path]:
    shares = [s for _, ss in INSTALLS for s in ss]
    return [s for s in shares if (s / 'sensor_msgs' / 'msg' / 'Image.json').is_file()]


def test_type_hash_table_matches_rosidl():
    """msgs.TYPE_HASHES (the node has no ROS to ask) equals rosidl's generated hashes."""
    shares = _type_description_jsons()
    if not shares:
        pytest.skip('no ROS 2 install with type description JSON (Iron or newer) found')
    for share in shares:
        for cls in dds_structs():
            pkg, sub, name = ros_name_of(cls).split('::')
            path = share / pkg / sub / f'{name}.json'
            hashes = {h['type_name']: h['hash_string']
                      for h in json.loads(path.read_text())['type_hashes']}
            ros_type = f'{pkg}/{sub}/{name}'
            assert msgs.TYPE_HASHES[ros_type] == hashes[ros_type], (ros_type, path)


def test_writers_and_readers_advertise_the_type_hash():
    """USER_DATA ``typehash=RIHS01_<hex>;`` on every endpoint, as rmw_cyclonedds writes it."""
    from cyclonedds.core import Policy, Qos

    from baff_ros.ros.dds.node import qos, RosDds

    dds = RosDds(DOMAIN, '/hash_check')
    try:
        for type_name in TOPIC_TYPES:
            cls = getattr(msgs, type_name)
            pkg, sub, name = ros_name_of(cls).split('::')
            want = f'typehash={msgs.TYPE_HASHES[f"{pkg}/{sub}/{name}"]};'.encode()
            assert re.fullmatch(rb'typehash=RIHS01_[0-9a-f]{64};', want)
            for entity in (dds.writer(type_name, cls, qos()), dds.reader(type_name, cls, qos())):
                assert entity.get_qos()[Policy.Userdata].data == want, type_name
        # A caller's own USER_DATA stays; a type ROS does not know gets none.
        own = dds.writer('own', msgs.Image, qos() + Qos(Policy.Userdata(b'x=1;')))
        assert own.get_qos()[Policy.Userdata].data == b'x=1;'
        foreign = make_idl_struct('Foreign', 'baff::Foreign', {'a': cdt.int32})
        assert Policy.Userdata not in dds.writer('foreign', foreign, qos()).get_qos()
    finally:
        dds.close()
